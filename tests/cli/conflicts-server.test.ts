/**
 * `conflicts ls|show|resolve` on the real server, every built-in entity with every side (see
 * conflicts-scenario.ts), and the checks of a given merged value and of the version it was shown on.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { runInProcess } from "../helpers/cli-in-process.ts";
import { errorLines, run, tempDirs } from "./queue-run.ts";
import { ALL_ENTITIES, type Conflict, type Ev, FIRST_EDIT, PARKED_EDIT, SEED_DOC, conflictSuite, ndjson } from "./conflicts-scenario.ts";

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

describe.runIf(await realPgAvailable())("real server", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("mudsync_conflicts");
    // through the real binary; the rest of the file runs the CLI in process
    expect((await run(["--db", db.url, "db", "migrate"])).code).toBe(0);
  });
  afterAll(async () => {
    await db?.drop();
  });
  describe("--merged and --if-version", () => {
    let store: string;
    let conflictId: number;
    const cli = (args: string[], input?: string) => runInProcess(["--store", store, "--db", db.url, ...args], input === undefined ? {} : { input });
    const row = async () => JSON.parse((await cli(["--json", "db", "get", "well", "v-well"])).stdout) as { version: number; data: unknown };
    beforeAll(async () => {
      store = dirs.make("mudsync-conflicts-merged-");
      const seed: Ev = { id: "v-seed", type: "add", entity: "well", entityId: "v-well", payload: SEED_DOC };
      expect((await cli(["queue", "enqueue", "-"], ndjson([seed]))).code).toBe(0);
      expect((await cli(["queue", "drain"])).code).toBe(0);
      const pair: Ev[] = [
        { id: "v-a", type: "update", entity: "well", entityId: "v-well", payload: FIRST_EDIT, baseVersion: 1, clientId: "A" },
        { id: "v-b", type: "update", entity: "well", entityId: "v-well", payload: PARKED_EDIT, baseVersion: 1, clientId: "B" },
      ];
      expect((await cli(["queue", "enqueue", "-"], ndjson(pair))).code).toBe(0);
      expect((await cli(["queue", "drain", "--strategy", "manual", "--no-coalesce"])).code).toBe(3);
      const ls = JSON.parse((await cli(["--json", "conflicts", "ls"])).stdout) as { conflicts: Conflict[] };
      conflictId = ls.conflicts.find((c) => c.eventId === "v-b")!.id;
    });

    it("refuses a partial --merged, naming the missing fields, and changes nothing", async () => {
      const r = await cli(["conflicts", "resolve", String(conflictId), "--take", "merged", "--merged", '{"depth_m": 1400}']);
      expect(r.code).toBe(2);
      expect(errorLines(r.stderr)).toEqual([`mudsync: conflict ${conflictId}: --merged: it lacks fields the stored row has (name, status); give the whole merged value (a field left out would be deleted)`]);
      expect(await row()).toMatchObject({ version: 2, data: { ...SEED_DOC, ...FIRST_EDIT } });
    });

    it("refuses --if-version when the row is no longer at that version", async () => {
      const r = await cli(["conflicts", "resolve", String(conflictId), "--take", "merged", "--if-version", "1"]);
      expect(r.code).toBe(2);
      expect(errorLines(r.stderr)).toEqual([expect.stringContaining(`the row well:v-well is now v2, not v1`)]);
    });

    it("writes a whole --merged value exactly", async () => {
      const merged = { ...SEED_DOC, ...FIRST_EDIT, depth_m: 1400, note: "agreed on the phone" };
      const r = await cli(["--json", "conflicts", "resolve", String(conflictId), "--take", "merged", "--merged", JSON.stringify(merged), "--if-version", "2"]);
      expect(r.code, r.stderr).toBe(0);
      expect(await row()).toMatchObject({ version: 3, data: merged });
    });
  });

  conflictSuite("the real server", ALL_ENTITIES, async () => ({
    dbFlags: ["--db", db.url],
    async inspect(fn) {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        await fn(async (sql, params) => (await client.query(sql, params)).rows);
      } finally {
        await client.end();
      }
    },
  }));
});
