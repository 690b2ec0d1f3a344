/**
 * Lists the scenario files of a folder (`mudsync sim ls`): each file is loaded and validated, so
 * a broken scenario shows up here rather than halfway into a run. The shipped scenarios live in
 * fixtures/scenarios.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidInputError } from "../../errors.ts";
import { loadScenario, scenarioError } from "./load-scenario.ts";
import { SCENARIO_DEFAULTS, scenarioName } from "./resolve-scenario.ts";
import { SERVER_FAULT_KINDS } from "./scenario-schema.ts";

export const SHIPPED_SCENARIOS_DIR = fileURLToPath(new URL("../../../fixtures/scenarios", import.meta.url));

export interface ScenarioListing {
  name: string;
  /** path of the file */
  file: string;
  description: string;
  ci: boolean;
  /** the client count the file asks for (before any --clients) */
  clients: number;
  expect: "pass" | "fail";
  /** the sink it needs: a real server (daemons, faults on connections), the embedded PGlite (a restart), or either */
  sink: "any" | "server" | "pglite";
}

const SCENARIO_FILE = /\.(ya?ml|json)$/i;

/** Every scenario file in `dir`, sorted by name; two files with the same name are an error. */
export async function listScenarios(dir: string = SHIPPED_SCENARIOS_DIR): Promise<ScenarioListing[]> {
  let names: string[];
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    names = entries.filter((e) => e.isFile() && SCENARIO_FILE.test(e.name)).map((e) => e.name);
    // one level of folders (chaos/…): their scenarios are listed as <folder>/<name>
    for (const sub of entries.filter((e) => e.isDirectory())) {
      for (const e of await readdir(path.join(dir, sub.name), { withFileTypes: true })) {
        if (e.isFile() && SCENARIO_FILE.test(e.name)) names.push(`${sub.name}/${e.name}`);
      }
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidInputError(dir, undefined, code === "ENOENT" ? "no such directory" : `cannot read the directory (${code ?? String(err)})`);
  }
  const listings: ScenarioListing[] = [];
  const byName = new Map<string, string>();
  for (const entry of names.sort()) {
    const file = path.join(dir, entry);
    const scenario = await loadScenario(file);
    const folder = path.dirname(entry);
    const name = folder === "." ? scenarioName(scenario, file) : `${folder}/${scenarioName(scenario, file)}`;
    const other = byName.get(name);
    if (other !== undefined) {
      throw scenarioError(file, { path: ["name"], expected: `a name no other scenario in the folder has`, got: `"${name}", as in ${path.basename(other)}` });
    }
    byName.set(name, file);
    listings.push({
      name,
      file,
      description: scenario.description ?? "",
      ci: scenario.ci ?? false,
      clients: scenario.clients?.count ?? SCENARIO_DEFAULTS.clients,
      expect: scenario.expect ?? SCENARIO_DEFAULTS.expect,
      sink:
        scenario.daemons !== undefined || (scenario.faults ?? []).some((f) => SERVER_FAULT_KINDS.has(f.kind))
          ? "server"
          : (scenario.faults ?? []).some((f) => f.kind === "restart-server")
            ? "pglite"
            : "any",
    });
  }
  return listings.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
