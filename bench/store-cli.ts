/**
 * The CLI half of the store benchmark: generates exports of each size, imports them with the real
 * `mudsync queue import` (wall time, peak RSS of the child), checks the store holds every event,
 * and times `mudsync queue ls` end to end on the resulting stores.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { writeDexieExport } from "./lib/dexie-export-file.ts";
import type { Baseline, BenchReport } from "./lib/report.ts";
import { firstErrorLine, runCli } from "./lib/run-measured.ts";
import { perSecond, sizeLabel as k } from "./lib/stats.ts";

export interface StoreSizes {
  small: number;
  medium: number;
  double: number;
  large: number;
}

interface Baselines {
  bulkAddMs: Baseline;
  bulkAddRate: Baseline;
  page: Baseline;
  rss: Baseline;
}

/** Sum of the status counts `queue ls --json` reports, or an error line. */
async function storedCount(storeDir: string): Promise<number | string> {
  const run = await runCli(["queue", "ls", "--store", storeDir, "--json", "--limit", "1"]);
  if (run.code !== 0) return firstErrorLine(run);
  try {
    const counts = (JSON.parse(run.stdout) as { counts: Record<string, number> }).counts;
    return Object.values(counts).reduce((a, b) => a + b, 0);
  } catch {
    return `queue ls --json printed no {counts} object: ${run.stdout.slice(0, 120)}`;
  }
}

/** Imports an export of each size; returns size → store directory for the stores that loaded. */
export async function importAndList(report: BenchReport, dir: string, sizes: StoreSizes, base: Baselines): Promise<Map<number, string>> {
  const stores = new Map<number, string>();
  const importRss = new Map<number, number>();
  const order = [...new Set([sizes.small, sizes.medium, sizes.double, sizes.large])].sort((a, b) => a - b);
  for (const size of order) {
    const file = path.join(dir, `export-${size}.json`);
    const storeDir = path.join(dir, `store-${size}`);
    const info = await writeDexieExport(file, size, size);
    const run = await runCli(["queue", "import", file, "--store", storeDir, "--json"]);
    await rm(file, { force: true });
    const label = `queue import of a ${k(size)}-event export (${Math.round(info.bytes / 2 ** 20)} MB), CLI end to end`;
    if (run.code !== 0) {
      report.add({ id: `import.${k(size)}.ms`, label, value: null, unit: "ms", note: `import failed: ${firstErrorLine(run)}` });
      report.add({ id: `import.${k(size)}.peakRssMb`, label: `queue import of ${k(size)}: peak RSS until it stopped`, value: run.peakRssMb, unit: "MB" });
      if (size === sizes.large) report.note(`a ${k(size)}-event store could not be built, so it was neither opened nor listed: ${firstErrorLine(run)}`);
      continue;
    }
    const stored = await storedCount(storeDir);
    const is100k = size === 100_000;
    report.add({
      id: `import.${k(size)}.ms`,
      label,
      value: run.wallMs,
      unit: "ms",
      ...(is100k ? { target: { op: "<=" as const, value: 5000 }, baselines: [base.bulkAddMs] } : {}),
      note: `${Math.round(perSecond(size, run.wallMs))} events/s; ${stored === size ? `store holds all ${size}` : `store check: ${stored}`}`,
    });
    report.add({
      id: `import.${k(size)}.peakRssMb`,
      label: `queue import of ${k(size)}: peak RSS of the process`,
      value: run.peakRssMb,
      unit: "MB",
      ...(is100k ? { baselines: [base.rss] } : {}),
    });
    if (run.peakRssMb !== null) importRss.set(size, run.peakRssMb);
    if (size !== sizes.double) stores.set(size, storeDir);
    else await rm(storeDir, { recursive: true, force: true });
  }
  const m = importRss.get(sizes.medium);
  const d = importRss.get(sizes.double);
  report.add({
    id: "import.rssGrowth2x",
    label: `import peak RSS, ${k(sizes.double)} file ÷ ${k(sizes.medium)} file (flat memory ≈ 1)`,
    value: m && d ? d / m : null,
    unit: "×",
    target: { op: "<=", value: 1.25 },
    note: "target read as: doubling the file adds at most 25% peak memory",
  });

  for (const [size, storeDir] of stores) {
    const run = await runCli(["queue", "ls", "--store", storeDir]);
    const is100k = size === 100_000;
    const failed = run.code !== 0 ? `queue ls failed: ${firstErrorLine(run)}` : undefined;
    report.add({
      id: `ls.${k(size)}.ms`,
      label: `queue ls first page on ${k(size)}, CLI end to end`,
      value: failed ? null : run.wallMs,
      unit: "ms",
      baselines: [base.page],
      ...(is100k ? { target: { op: "<=" as const, value: 2000 } } : {}),
      ...(failed ? { note: failed } : {}),
    });
    report.add({
      id: `ls.${k(size)}.peakRssMb`,
      label: `queue ls on ${k(size)}: peak RSS of the process`,
      value: failed ? null : run.peakRssMb,
      unit: "MB",
      baselines: [base.rss],
      ...(is100k ? { target: { op: "<=" as const, value: 300 } } : {}),
    });
  }
  return stores;
}
