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
import { BROKEN_VARIANTS } from "../helpers/sim-variants.ts";
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
    const names = await ciSet("server");
    // the chaos smoke set: one scenario per fault kind that needs the server
    for (const kind of ["network-flap", "terminate-backends", "statement-timeout-storm", "applied-but-errored", "daemons-smoke"]) expect(names).toContain(`chaos/${kind}`);
    for (const name of names) {
      const r = await runScenario(await shipped(name, { sink: db.url }));
      const failing = r.verdict.invariants.filter((i) => i.violations > 0).map((i) => i.name);
      expect({ name, failing, asExpected: r.asExpected }).toEqual({ name, failing: [], asExpected: true });
      expect(r.sink).toContain("schema mudsync_sim");
      if (name === "chaos/daemons-smoke") expect(r.faults["kill-daemon"]).toBeGreaterThan(0);
    }
    expect(await schemas()).toEqual([]);
  }, 240_000);

  it("an engine that counts a batch whose answer never came as applied loses events under cuts and lost answers, and the verdict says so", async () => {
    const correct = await runScenario(await shipped("chaos/network-flap", { sink: db.url }));
    expect(correct.verdict.pass).toBe(true);
    const broken = await runScenario(await shipped("chaos/network-flap", { sink: db.url }), { variant: BROKEN_VARIANTS["acks-unanswered"] });
    const lost = broken.verdict.invariants.find((i) => i.name === "nothing-lost")!;
    expect(lost.violations).toBeGreaterThan(0);
    expect(lost.examples[0]!.message).toMatch(/ledger|lost|applied/);
    expect(broken.verdict.pass).toBe(false);
  }, 120_000);

  it("a second run on the same schema and server while one runs is refused, and changes nothing", async () => {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      // what a run in another process holds for its whole length
      await holder.query("select pg_advisory_lock(hashtext('mudsync.sim'), hashtext('mudsync_sim'))");
      await holder.query("create schema mudsync_sim; create table mudsync_sim.marker (x int)");
      await expect(runScenario(await shipped("clock-skew", { sink: db.url }))).rejects.toMatchObject({
        name: "SimSchemaBusyError",
        exitCode: 4,
        message: expect.stringContaining("schema mudsync_sim on 127.0.0.1:5432/"),
      });
      expect((await holder.query("select count(*)::int as n from mudsync_sim.marker")).rows[0]).toEqual({ n: 0 });
    } finally {
      await holder.query("drop schema if exists mudsync_sim cascade");
      await holder.end();
    }
  });

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
