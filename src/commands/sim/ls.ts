/** `mudsync sim ls`: the shipped scenarios (or a directory's), one line each. */
import path from "node:path";
import { listScenarios, SHIPPED_SCENARIOS_DIR, type ScenarioListing } from "../../sim/scenario/list-scenarios.ts";
import type { CommandContext } from "../shared/context.ts";
import { table } from "../shared/output.ts";

export interface SimLsResult {
  dir: string;
  scenarios: ScenarioListing[];
}

export async function simLs(opts: { dir?: string }, ctx: CommandContext): Promise<SimLsResult> {
  const dir = opts.dir ? path.resolve(ctx.cwd, opts.dir) : SHIPPED_SCENARIOS_DIR;
  return { dir, scenarios: await listScenarios(dir) };
}

export function renderSimLs(r: SimLsResult): string {
  if (r.scenarios.length === 0) return `no scenarios in ${r.dir}`;
  const rows = r.scenarios.map((s) => [s.name, s.ci ? "ci" : "", s.sink, String(s.clients), s.expect, s.description]);
  return (
    `${table(["NAME", "SET", "SINK", "CLIENTS", "EXPECT", "DESCRIPTION"], rows, 90)}\n\n` +
    `run one with \`mudsync sim run <name>\` (SINK server: add --sink postgres://…; pglite: without --sink); files in ${r.dir}`
  );
}
