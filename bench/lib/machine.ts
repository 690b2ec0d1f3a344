/** What a result was measured on: cpus, memory, load, Node, and the database server's version. */
import os from "node:os";
import { createRequire } from "node:module";

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
