/**
 * The browser-made export drained through the CLI: on the real server (history replayed, then
 * everything due; in process, a child start per call made it slow) the rows equal the final state
 * computed from the export; on the embedded PGlite the demo, through the real binary, does the
 * same with a concurrent remote edit and conflicts.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { fixture, run, tempDirs } from "../cli/queue-run.ts";
import { runInProcess } from "../helpers/cli-in-process.ts";

interface Expected {
  counts: { total: number; byEntity: Record<string, number> };
  charts: Record<string, { entryIds: string[] }>;
  documents: Record<string, Record<string, unknown>>;
}
const expected = JSON.parse(readFileSync(fixture("browser-export.expected.json"), "utf8")) as Expected;
const unknownEntityEvents = expected.counts.byEntity.annotation ?? 0;
const sortKeys = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(sortKeys) : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])])) : v;

describe.runIf(await realPgAvailable())("drain of the browser export into PostgreSQL", () => {
  const dirs = tempDirs();
  let db: TestDatabase;
  let client: pg.Client;
  let store: string;
  const cli = (...args: string[]) => runInProcess(["--store", store, "--db", db.url, ...args]);

  beforeAll(async () => {
    db = await createTestDatabase("mudsync_drain");
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    store = dirs.make();
    expect((await cli("db", "migrate")).code).toBe(0);
    expect((await cli("queue", "import", fixture("browser-export.json"))).code).toBe(0);
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
    dirs.cleanup();
  });

  it("replays the synced history and drains the rest: the rows equal the export's final state", async () => {
    const r = await cli("--json", "queue", "replay", "--status", "completed,failed,processing,pending");
    // the unknown entity's events are quarantined as dead, so the queue is not fully drained
    expect(r.code, r.stderr).toBe(3);
    const out = JSON.parse(r.stdout) as { drain: { settled: number; rejected: number; dead: number; left: Record<string, number> } };
    expect(out.drain.settled).toBe(expected.counts.total);
    expect(out.drain.rejected).toBe(unknownEntityEvents);
    expect(out.drain.left).toMatchObject({ pending: 0, processing: 0, failed: 0, dead: unknownEntityEvents });

    const charts = await client.query<{ id: string; data_source_config: { id: string }[] }>("select id, data_source_config from mudsync.charts");
    const got = Object.fromEntries(charts.rows.map((c) => [c.id, c.data_source_config.map((e) => e.id).sort()]));
    for (const [id, want] of Object.entries(expected.charts)) expect(got[id], `chart ${id}`).toEqual([...want.entryIds].sort());

    for (const [entity, table] of [["well", "wells"], ["polygon", "polygons"], ["curve", "curves"]] as const) {
      const rows = await client.query<{ id: string; doc: unknown }>(`select id, doc from mudsync.${table}`);
      const docs = Object.fromEntries(rows.rows.map((x) => [x.id, sortKeys(x.doc)]));
      expect(docs, entity).toEqual(sortKeys(expected.documents[entity]));
    }
    const applied = await client.query<{ n: string }>("select count(*) as n from mudsync.applied_events");
    expect(Number(applied.rows[0]?.n)).toBe(expected.counts.total - unknownEntityEvents);
  });

  it("replaying an applied event is a duplicate and changes nothing", async () => {
    const ls = JSON.parse((await cli("--json", "queue", "ls", "--status", "completed", "--limit", "1")).stdout) as { events: { id: string }[] };
    const id = ls.events[0]!.id;
    const state = "select (select count(*) from mudsync.applied_events) as applied, (select sum(version) from mudsync.charts) + (select sum(version) from mudsync.wells) as versions";
    const before = await client.query(state);
    const r = await cli("--json", "queue", "replay", "--ids", id);
    expect(JSON.parse(r.stdout).drain).toMatchObject({ duplicates: 1, applied: 0 });
    expect((await client.query(state)).rows).toEqual(before.rows);
  });

  it("a dry run of the dead events reports them and changes nothing in the store or on the server", async () => {
    const statsBefore = (await cli("--json", "queue", "stats")).stdout;
    const versions = await client.query("select id, version from mudsync.charts order by id");
    const r = await cli("--json", "queue", "replay", "--status", "dead", "--dry-run");
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { dryRun: boolean; events: { outcome: string; chosen: boolean }[]; rows: unknown[] };
    expect(out.dryRun).toBe(true);
    expect(out.events).toHaveLength(unknownEntityEvents);
    expect(new Set(out.events.map((x) => `${x.outcome} ${x.chosen}`))).toEqual(new Set(["rejected true"]));
    expect((await cli("--json", "queue", "stats")).stdout).toEqual(statsBefore);
    expect((await client.query("select id, version from mudsync.charts order by id")).rows).toEqual(versions.rows);
  });
});

describe("demo on the embedded PGlite", () => {
  it("drains the browser export, resolves the staged conflicts and matches the expected rows", async () => {
    const r = await run(["--json", "demo"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { matchesExpected: boolean; mismatches: string[]; drain: { conflicts: { resubmitted: number }; rejected: number }; conflictRows: { row: string; data: unknown }[] };
    expect(out.mismatches).toEqual([]);
    expect(out.matchesExpected).toBe(true);
    expect(out.drain.conflicts.resubmitted).toBe(2);
    expect(out.drain.rejected).toBe(unknownEntityEvents);
    const well = out.conflictRows.find((x) => x.row === "well:demo-well-A7");
    expect(well?.data).toEqual({ name: "A-7", status: "completed", depth_m: 1350 });
    const chart = out.conflictRows.find((x) => x.row === "chart_data_source:demo-chart");
    const ids = (Array.isArray(chart?.data) ? chart.data : (chart?.data as { data_source_config: unknown[] }).data_source_config).map((e) => (e as { id: string }).id);
    expect(ids.sort()).toEqual(["curve-NPHI", "curve-RHOB"]); // the remote deselection of curve-GR holds
  }, 180_000);
});
