/**
 * `queue drain --part-size`: the browser export drained in parts (a few rows in memory at a time)
 * ends with the same server rows, the same outcomes and the same store as drained whole.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { fixture, run, tempDirs } from "../cli/queue-run.ts";

interface Drained {
  code: number;
  summary: Record<string, unknown> & { parts?: { count: number; loads: number } };
  progress: { done?: number; total?: number }[];
  byStatus: unknown;
  rows: Record<string, unknown>;
}

describe.runIf(await realPgAvailable())("queue drain in parts", () => {
  const dirs = tempDirs();
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of dbs) await db.drop();
    dirs.cleanup();
  });

  async function drain(partSize: string): Promise<Drained> {
    const db = await createTestDatabase("mudsync_parts");
    dbs.push(db);
    const store = dirs.make();
    const cli = (...args: string[]) => run(["--store", store, "--db", db.url, ...args]);
    expect((await cli("db", "migrate")).code).toBe(0);
    expect((await cli("queue", "import", fixture("browser-export.json"))).code).toBe(0);
    const r = await cli("--json", "queue", "drain", "--part-size", partSize);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const rows: Record<string, unknown> = {};
    try {
      const charts = await client.query<{ id: string; data_source_config: { id: string }[] }>("select id, data_source_config from mudsync.charts order by id");
      rows.charts = charts.rows.map((c) => [c.id, c.data_source_config.map((e) => e.id).sort()]);
      for (const table of ["wells", "polygons", "curves"]) rows[table] = (await client.query(`select id, doc from mudsync.${table} order by id`)).rows;
      rows.applied = (await client.query("select event_id from mudsync.applied_events order by event_id")).rows.map((x) => x.event_id);
    } finally {
      await client.end();
    }
    const stats = JSON.parse((await run(["--store", store, "--json", "queue", "stats"])).stdout) as { byStatus: unknown };
    const progress = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { done?: number; total?: number });
    return { code: r.code ?? -1, summary: JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}"), progress, byStatus: stats.byStatus, rows };
  }

  let whole: Drained;
  let parted: Drained;
  beforeAll(async () => {
    whole = await drain("0");
    parted = await drain("500");
  }, 120_000);

  it("ends with the same rows, outcomes and store as a drain of the whole store", () => {
    expect(whole.summary.parts).toBeUndefined();
    expect(parted.summary.parts!.count).toBeGreaterThan(3);
    expect(parted.summary.parts!.loads).toBeGreaterThanOrEqual(parted.summary.parts!.count);
    expect(parted.code).toBe(whole.code);
    for (const key of ["settled", "rejected", "dead", "duplicates", "left", "drained"]) expect(parted.summary[key], key).toEqual(whole.summary[key]);
    expect(parted.byStatus).toEqual(whole.byStatus);
    expect((parted.rows.applied as string[]).length).toBeGreaterThan(0);
    expect(parted.rows).toEqual(whole.rows);
  });

  it("reports progress while it goes from part to part", () => {
    const last = parted.progress.filter((p) => p.done !== undefined).pop();
    expect(last?.done).toBe(parted.summary.settled);
    expect(last?.total).toBe(parted.summary.settled); // exact once every part was loaded
  });
});
