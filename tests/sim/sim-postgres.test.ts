/**
 * The simulation on the real server: the CI set passes in a database of its own, the schema the
 * run creates is dropped after it, and one seed gives one history there too.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runScenario } from "../../src/sim/runner/run-scenario.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { ciSet, shipped } from "./sim-helpers.ts";

describe.runIf(await realPgAvailable())("sim on the real server", () => {
  let db: TestDatabase;
  const dir = mkdtempSync(path.join(tmpdir(), "mudsync-sim-pg-"));
  beforeAll(async () => {
    db = await createTestDatabase("mudsync_sim");
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function schemas(): Promise<string[]> {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query<{ n: string }>("select nspname as n from pg_namespace where nspname like 'mudsync%'")).rows.map((r) => r.n);
    } finally {
      await c.end();
    }
  }

  it("the CI set of shipped scenarios passes; the run's schema is gone afterwards", async () => {
    for (const name of await ciSet()) {
      const r = await runScenario(await shipped(name, { sink: db.url }));
      const failing = r.verdict.invariants.filter((i) => i.violations > 0).map((i) => i.name);
      expect({ name, failing, asExpected: r.asExpected }).toEqual({ name, failing: [], asExpected: true });
      expect(r.sink).toContain("schema mudsync_sim");
    }
    expect(await schemas()).toEqual([]);
  }, 240_000);

  it("one seed gives one history; --keep leaves the schema for the inspection commands", async () => {
    const scenario = await shipped("offline-8-merge", { sink: db.url });
    const files = ["a", "b"].map((n) => path.join(dir, `${n}.ndjson`));
    await runScenario(scenario, { historyFile: files[0] });
    const kept = await runScenario(scenario, { historyFile: files[1], keep: true });
    try {
      const lines = (f: string) => readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.stringify({ ...JSON.parse(l), wt: 0 }));
      expect(lines(files[1]!)).toEqual(lines(files[0]!));
      expect(kept.kept?.schema).toBe("mudsync_sim");
      expect(await schemas()).toEqual(["mudsync_sim"]);
    } finally {
      if (kept.kept) rmSync(kept.kept.runDir, { recursive: true, force: true });
    }
  }, 120_000);
});
