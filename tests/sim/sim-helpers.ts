/** Loading shipped scenarios for the simulation tests, with overrides. */
import path from "node:path";
import { loadScenario } from "../../src/sim/scenario/load-scenario.ts";
import { resolveScenario, type Scenario, type ScenarioOverrides } from "../../src/sim/scenario/resolve-scenario.ts";
import { listScenarios, SHIPPED_SCENARIOS_DIR } from "../../src/sim/scenario/list-scenarios.ts";

export async function shipped(name: string, overrides: ScenarioOverrides = {}): Promise<Scenario> {
  const file = path.join(SHIPPED_SCENARIOS_DIR, `${name}.yaml`);
  return resolveScenario(await loadScenario(file), overrides, file);
}

/** The names of the shipped scenarios marked `ci: true` that run on this sink. */
export async function ciSet(sink: "pglite" | "server"): Promise<string[]> {
  return (await listScenarios()).filter((s) => s.ci && (s.sink === "any" || s.sink === sink)).map((s) => s.name);
}
