/**
 * `queue replay --dry-run` through the CLI (in process; the first drain through the real binary),
 * on the embedded PGlite and on the real server: a dry run goes through the engine with the chosen
 * conflict strategy (a conflicting edit is re-applied under local-wins and dropped under
 * remote-wins), reports the fields each row would change, writes nothing to the server or the
 * store, and the real replay then does what it said. The embedded store starts from a copy of a
 * migrated database.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgliteClient } from "../../src/sinks/pglite/pglite-client.ts";
import { PgliteSink } from "../../src/sinks/pglite/pglite-sink.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { runInProcess } from "../helpers/cli-in-process.ts";
import { withMigratedPglite } from "../helpers/pglite-template.ts";
import { run, tempDirs } from "./queue-run.ts";

const PG = await realPgAvailable();
const BACKENDS: ("pglite" | "pg")[] = PG ? ["pglite", "pg"] : ["pglite"];

const entry = { id: "curve-a", source: { type: "curve", curveId: "a" }, displaySettings: { visible: true } };
const STEPS: { events: Record<string, unknown>[]; strategy?: string }[] = [
  {
    events: [
      { id: "e1", type: "add", entity: "well", entityId: "w1", payload: { name: "A-1", depth: 100 } },
      { id: "c1", type: "add", entity: "chart_data_source", entityId: "ch1", payload: entry },
    ],
  },
  // another client edits both rows: they are at version 2
  {
    events: [
      { id: "r1", clientId: "other", seq: 1, type: "update", entity: "well", entityId: "w1", payload: { name: "A-1 (remote)" } },
      { id: "r2", clientId: "other", seq: 2, type: "update", entity: "chart_data_source", entityId: "ch1", payload: { id: "curve-a", displaySettings: { visible: true, color: "#d62728" } } },
    ],
  },
  // this client's edits were made against version 1: they conflict, and remote-wins dropped them
  {
    events: [
      { id: "e2", clientId: "me", seq: 1, baseVersion: 1, type: "update", entity: "well", entityId: "w1", payload: { depth: 250, status: "drilling" } },
      { id: "e3", clientId: "me", seq: 2, baseVersion: 1, type: "update", entity: "chart_data_source", entityId: "ch1", payload: { id: "curve-a", displaySettings: { visible: false } } },
    ],
    strategy: "remote-wins",
  },
];

interface Preview {
  dryRun: true;
  strategy: string;
  events: { id: string; outcome: string; status: string; version?: number; chosen: boolean; conflict?: { strategy: string; decision: string; times: number } }[];
  rows: { entity: string; id: string; before: number | null; after: number | null; changes: { field: string; op: string; before?: unknown; after?: unknown }[] }[];
}

for (const kind of BACKENDS) {
  describe(`queue replay --dry-run follows the conflict strategy (${kind})`, () => {
    const dirs = tempDirs();
    let store: string;
    let db: TestDatabase | undefined;
    const dbFlags = () => (db ? ["--db", db.url] : []);
    const cli = (...args: string[]) => runInProcess(["--store", store, ...dbFlags(), ...args]);

    /** The two rows and the applied-events ledger, read straight from the server. */
    async function server(): Promise<{ well: unknown; chart: unknown; applied: number }> {
      const sql = "select mudsync.get_row('well', 'w1') as well, mudsync.get_row('chart_data_source', 'ch1') as chart, (select count(*) from mudsync.applied_events)::int as applied";
      if (db) {
        const c = new pg.Client({ connectionString: db.url });
        await c.connect();
        try {
          return (await c.query(sql)).rows[0];
        } finally {
          await c.end();
        }
      }
      const c = await PgliteClient.open(PgliteSink.dataDirOf(store));
      try {
        return (await c.query<{ well: unknown; chart: unknown; applied: number }>(sql)).rows[0]!;
      } finally {
        await c.close();
      }
    }

    /** Everything the local store holds: the events as exported, and the dropped events' histories. */
    async function local(): Promise<{ events: string; history: unknown[] }> {
      const file = path.join(dirs.make("mudsync-export-"), "events.json");
      const exported = await runInProcess(["--store", store, "queue", "export", file]);
      expect(exported.code, exported.stderr).toBe(0);
      const history = [];
      for (const id of ["e2", "e3"]) {
        const { event, history: steps } = JSON.parse((await runInProcess(["--store", store, "--json", "queue", "show", id])).stdout);
        history.push({ event, steps });
      }
      return { events: readFileSync(file, "utf8"), history };
    }

    beforeAll(async () => {
      store = dirs.make("mudsync-replay-dry-");
      if (kind === "pglite") await withMigratedPglite(store);
      if (kind === "pg") {
        db = await createTestDatabase("mudsync_replay_dry");
        expect((await cli("db", "migrate")).code).toBe(0);
      }
      for (const [i, step] of STEPS.entries()) {
        const input = step.events.map((e) => JSON.stringify(e)).join("\n");
        const enq = await runInProcess(["--store", store, "queue", "enqueue", "-"], { input });
        expect(enq.code, enq.stderr).toBe(0);
        // the first drain through the real binary, the rest of the file in process
        const drainArgs = ["--store", store, ...dbFlags(), "queue", "drain", ...(step.strategy ? ["--strategy", step.strategy] : [])];
        const drained = await (i === 0 ? run : runInProcess)(drainArgs);
        expect(drained.code, drained.stderr).toBe(0);
      }
      const shown = JSON.parse((await runInProcess(["--store", store, "--json", "queue", "show", "e2"])).stdout);
      expect(shown.event).toMatchObject({ status: "completed", outcome: "conflict" });
    }, 120_000);

    afterAll(async () => {
      await db?.drop();
      dirs.cleanup();
    });

    it("--strategy local-wins: the conflicting edits are re-applied, with the fields they change; nothing is written", async () => {
      const [serverBefore, localBefore] = [await server(), await local()];
      expect(serverBefore).toMatchObject({ well: { version: 2 }, chart: { version: 2 } });

      const r = await cli("--json", "queue", "replay", "--ids", "e2,e3", "--dry-run", "--strategy", "local-wins");
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as Preview;
      expect(out).toMatchObject({ dryRun: true, strategy: "local-wins" });
      expect(out.events).toEqual([
        expect.objectContaining({ id: "e2", chosen: true, outcome: "re-applied", status: "completed", version: 3, conflict: expect.objectContaining({ strategy: "local-wins", decision: "resubmit", times: 1 }) }),
        expect.objectContaining({ id: "e3", chosen: true, outcome: "re-applied", status: "completed", version: 3, conflict: expect.objectContaining({ strategy: "local-wins", decision: "resubmit", times: 1 }) }),
      ]);
      expect(out.rows).toEqual([
        {
          entity: "well", id: "w1", before: 2, after: 3,
          changes: [
            { field: "depth", op: "replace", before: 100, after: 250 },
            { field: "status", op: "add", after: "drilling" },
          ],
        },
        {
          entity: "chart_data_source", id: "ch1", before: 2, after: 3,
          changes: [
            { field: "[curve-a].displaySettings.color", op: "remove", before: "#d62728" },
            { field: "[curve-a].displaySettings.visible", op: "replace", before: true, after: false },
          ],
        },
      ]);

      const text = await cli("queue", "replay", "--ids", "e2,e3", "--dry-run", "--strategy", "local-wins");
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/^e2 +well:w1 +re-applied as v3 after conflict, local-wins$/m);
      expect(text.stdout).toMatch(/^well:w1 +v2 → v3$/m);
      expect(text.stdout).toMatch(/^ +depth +100 +250$/m);
      expect(text.stdout).toMatch(/^ +\[curve-a\]\.displaySettings\.color +"#d62728" +\(absent\)$/m);

      expect(await server()).toEqual(serverBefore);
      expect(await local()).toEqual(localBefore);
    }, 180_000);

    it("--strategy remote-wins: the same edits are reported dropped and no field changes", async () => {
      const r = await cli("--json", "queue", "replay", "--ids", "e2,e3", "--dry-run", "--strategy", "remote-wins");
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as Preview;
      expect(out.events.map((e) => [e.id, e.outcome, e.conflict?.decision])).toEqual([
        ["e2", "dropped", "drop"],
        ["e3", "dropped", "drop"],
      ]);
      expect(out.rows.map((x) => [x.id, x.before, x.after, x.changes])).toEqual([
        ["w1", 2, 2, []],
        ["ch1", 2, 2, []],
      ]);
    });

    it("the real replay with local-wins then does what the dry run reported", async () => {
      const preview = JSON.parse((await cli("--json", "queue", "replay", "--ids", "e2,e3", "--dry-run", "--strategy", "local-wins")).stdout) as Preview;
      const r = await cli("--json", "queue", "replay", "--ids", "e2,e3", "--strategy", "local-wins");
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).drain).toMatchObject({ applied: 2, conflicts: { resubmitted: 2, dropped: 0, parked: 0 } });
      const after = await server();
      expect(after).toMatchObject({
        well: { version: preview.rows[0]!.after, data: { name: "A-1 (remote)", depth: 250, status: "drilling" } },
        chart: { version: preview.rows[1]!.after, data: [{ ...entry, displaySettings: { visible: false } }] },
      });
      for (const e of preview.events) {
        const shown = JSON.parse((await runInProcess(["--store", store, "--json", "queue", "show", e.id])).stdout);
        expect(shown.event).toMatchObject({ status: e.status, appliedVersion: e.version });
      }
    }, 120_000);
  });
}
