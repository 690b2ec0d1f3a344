/**
 * The simulation on the embedded PGlite: the CI set of shipped scenarios passes, one seed gives one
 * history, and each deliberately broken variant is caught by the invariant it breaks.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runScenario, type RunResult } from "../../src/sim/runner/run-scenario.ts";
import { BROKEN_VARIANTS } from "../helpers/sim-variants.ts";
import { ciSet, shipped } from "./sim-helpers.ts";

const dir = mkdtempSync(path.join(tmpdir(), "mudsync-sim-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const failing = (r: RunResult) => r.verdict.invariants.filter((i) => i.violations > 0).map((i) => i.name);

describe("sim on PGlite", () => {
  it("the CI set of shipped scenarios passes, each as its file expects", async () => {
    const names = await ciSet("pglite");
    expect(names.length).toBeGreaterThanOrEqual(6);
    expect(names).toContain("chaos/server-restart");
    for (const name of names) {
      const r = await runScenario(await shipped(name));
      expect({ name, failing: failing(r), asExpected: r.asExpected }).toEqual({ name, failing: [], asExpected: true });
      expect(r.events.acked).toBeGreaterThan(0);
      // nothing is left unsettled: every acknowledged write reached a final state
      expect(r.verdict.stats.settled["unsettled"] ?? 0).toBe(0);
      if (name === "chaos/server-restart") expect(r.faults["restart-server"]).toBe(2);
    }
  }, 240_000);

  it("a scenario with faults on a real server's connections is refused on PGlite before anything starts", async () => {
    await expect(runScenario(await shipped("chaos/network-flap"))).rejects.toMatchObject({
      name: "UsageError",
      message: expect.stringContaining("network-flap: fault network acts on a real server's connections; run it with --sink postgres://"),
    });
  });

  it("one seed gives one history (wall time aside); another seed another", async () => {
    const scenario = await shipped("selection-race");
    const files = ["a", "b", "c"].map((n) => path.join(dir, `${n}.ndjson`));
    await runScenario(scenario, { historyFile: files[0] });
    await runScenario(scenario, { historyFile: files[1] });
    await runScenario({ ...scenario, seed: scenario.seed + 1 }, { historyFile: files[2] });
    const lines = (f: string) => readFileSync(f, "utf8").trim().split("\n").map((l) => {
      const { wt: _wt, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return JSON.stringify(rest);
    });
    const [a, b, c] = files.map(lines);
    expect(a!.length).toBeGreaterThan(100);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  }, 120_000);
});

describe("sim: broken variants are caught by the invariant they break", () => {
  const cases: [variant: keyof typeof BROKEN_VARIANTS, scenario: string, invariant: string][] = [
    ["no-ledger-check", "duplicate-delivery", "nothing-twice"],
    ["reordered-row-edits", "selection-race", "per-row-order"],
    ["stale-cache", "offline-8-merge", "convergence"],
    ["never-rolled-back", "poison-head", "optimistic"],
  ];
  for (const [variant, scenario, invariant] of cases) {
    it(`${variant} (${scenario}) → ${invariant}`, async () => {
      // the same scenario without the variant passes: the CI set above runs it
      const broken = await runScenario(await shipped(scenario), { variant: BROKEN_VARIANTS[variant] });
      expect(broken.verdict.pass).toBe(false);
      expect(failing(broken)).toContain(invariant);
      const inv = broken.verdict.invariants.find((i) => i.name === invariant)!;
      expect(inv.examples.length).toBeGreaterThan(0);
      expect(inv.examples[0]!.message.length).toBeGreaterThan(10);
    }, 120_000);
  }
});
