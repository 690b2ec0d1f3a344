/** What a result was measured on: cpus, memory, load, Node, package versions (and, set by the caller, the server version). */
import os from "node:os";
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

export interface MachineInfo {
  hostname: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  totalMemMb: number;
  loadAvg: number[];
  node: string;
  versions: Record<string, string>;
  pgServer?: string;
}

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    // a package whose exports map hides package.json: find its directory from its entry point
  }
  try {
    let dir = path.dirname(require.resolve(name));
    while (path.basename(dir) !== "node_modules" && dir !== path.dirname(dir)) {
      const file = path.join(dir, "package.json");
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
        if (pkg.name === name && pkg.version) return pkg.version;
      }
      dir = path.dirname(dir);
    }
    return "not installed";
  } catch {
    return "not installed";
  }
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    totalMemMb: Math.round(os.totalmem() / 2 ** 20),
    loadAvg: os.loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
    versions: Object.fromEntries(
      ["dexie", "fake-indexeddb", "pg", "@electric-sql/pglite", "pg-boss", "pg-copy-streams"].map((n) => [n, packageVersion(n)]),
    ),
  };
}
