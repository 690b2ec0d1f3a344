/**
 * Sim task: runs one shipped scenario (with overrides) in its own process, so its peak RSS is the
 * run's own, and prints the run's figures.
 */
import path from "node:path";
import { loadScenario } from "../../src/sim/scenario/load-scenario.ts";
import { resolveScenario } from "../../src/sim/scenario/resolve-scenario.ts";
import { SHIPPED_SCENARIOS_DIR } from "../../src/sim/scenario/list-scenarios.ts";
import { runScenario } from "../../src/sim/runner/run-scenario.ts";
import { runTaskMain } from "../lib/task-io.ts";

export interface SimRunParams {
  scenario: string;
  sink: string;
  clients?: number;
}

export interface SimRunTaskResult {
  pass: boolean;
  failing: string[];
  acked: number;
  batches: number;
  wallMs: number;
  virtualMs: number;
  peakRssMb: number;
  heapUsedMb: number;
  settled: Record<string, number>;
}

async function main(p: SimRunParams): Promise<SimRunTaskResult> {
  const file = path.join(SHIPPED_SCENARIOS_DIR, `${p.scenario}.yaml`);
  const scenario = resolveScenario(await loadScenario(file), { sink: p.sink, ...(p.clients ? { clients: p.clients } : {}) }, file);
  const r = await runScenario(scenario);
  return {
    pass: r.verdict.pass,
    failing: r.verdict.invariants.filter((i) => i.violations > 0).map((i) => i.name),
    acked: r.events.acked,
    batches: r.events.batches,
    wallMs: r.wallMs,
    virtualMs: r.virtualMs,
    peakRssMb: r.peakRssMb,
    heapUsedMb: Math.round(process.memoryUsage().heapUsed / 1048576),
    settled: r.verdict.stats.settled,
  };
}

runTaskMain(main);
