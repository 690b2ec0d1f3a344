/**
 * `npm run bench -- doctor`: `mudsync doctor` as a person runs it (the whole CLI, node start
 * included) on an export file and on a local store of 100k events, each next to `queue stats` on
 * the same input (the same streaming read with a cheaper accumulator: the floor a single pass can
 * reach), and the peak memory of doctor on exports of 100k and 200k events (flat in queue size).
 * The events are the benchmarks' stuck-queue mix (bench/lib/events.ts), so most checks have
 * findings to report.
 */
import path from "node:path";
import { writeDexieExport } from "./lib/dexie-export-file.ts";
import type { BenchReport } from "./lib/report.ts";
import { firstErrorLine, runCli, type MeasuredRun } from "./lib/run-measured.ts";
import { median, sizeLabel as k } from "./lib/stats.ts";
import { withTempDir } from "./lib/temp-dir.ts";

export interface DoctorBenchParams {
  /** the size the speed targets are for */
  size: number;
  /** twice `size`: the peak RSS ratio says whether memory grows with the queue */
  double: number;
  /** runs of each timed command; the median is reported */
  reps: number;
}

export function doctorParams(quick: boolean): DoctorBenchParams {
  return quick ? { size: 10_000, double: 20_000, reps: 1 } : { size: 100_000, double: 200_000, reps: 3 };
}

/** Runs the command `reps` times; the run with the median wall time. Exit 7 (findings) is expected of doctor. */
async function medianRun(args: string[], reps: number, okCodes: number[]): Promise<MeasuredRun> {
  const runs: MeasuredRun[] = [];
  for (let i = 0; i < reps; i++) {
    const r = await runCli(args, { timeoutMs: 300_000 });
    if (!okCodes.includes(r.code ?? -1)) throw new Error(`mudsync ${args.join(" ")}: ${firstErrorLine(r)}`);
    runs.push(r);
  }
  const mid = median(runs.map((r) => r.wallMs));
  return runs.find((r) => r.wallMs === mid) ?? runs[0]!;
}

function findingsOf(r: MeasuredRun): string {
  const report = JSON.parse(r.stdout) as { events: number; findings: { kind: string; eventIds: string[]; moreEvents: number }[] };
  return `${report.events} events; findings: ${report.findings.map((f) => `${f.kind} ${f.eventIds.length + f.moreEvents}`).join(", ")}`;
}

export async function runDoctorBench(report: BenchReport, quick: boolean): Promise<void> {
  const p = doctorParams(quick);
  Object.assign(report.params, p);
  await withTempDir("doctor", async (dir) => {
    const file = path.join(dir, `export-${p.size}.json`);
    const info = await writeDexieExport(file, p.size, 7);
    const stats = await medianRun(["queue", "stats", "--file", file, "--json"], p.reps, [0]);
    const doc = await medianRun(["doctor", "--file", file, "--json"], p.reps, [0, 7]);
    report.add({
      id: `file.${k(p.size)}.ms`,
      label: `doctor --file on a ${k(p.size)}-event export (${Math.round(info.bytes / 1e6)} MB), whole CLI run`,
      value: doc.wallMs,
      unit: "ms",
      baselines: [{ label: "queue stats --file, same file", value: stats.wallMs, unit: "ms" }],
      target: { op: "<=", value: 3000 },
      note: `median of ${p.reps}; peak RSS ${Math.round(doc.peakRssMb ?? 0)} MB; ${findingsOf(doc)}`,
    });

    const store = path.join(dir, "store");
    const imported = await runCli(["queue", "import", file, "--store", store], { timeoutMs: 600_000 });
    if (imported.code !== 0) throw new Error(`queue import: ${firstErrorLine(imported)}`);
    const storeStats = await medianRun(["queue", "stats", "--store", store, "--json"], p.reps, [0]);
    const storeDoc = await medianRun(["doctor", "--store", store, "--json"], p.reps, [0, 7]);
    report.add({
      id: `store.${k(p.size)}.ms`,
      label: `doctor on a ${k(p.size)}-event local store, whole CLI run`,
      value: storeDoc.wallMs,
      unit: "ms",
      baselines: [{ label: "queue stats, same store", value: storeStats.wallMs, unit: "ms" }],
      target: { op: "<=", value: 3000 },
      note: `median of ${p.reps}; peak RSS ${Math.round(storeDoc.peakRssMb ?? 0)} MB (the store holds its events in memory once open); ${findingsOf(storeDoc)}`,
    });

    const bigFile = path.join(dir, `export-${p.double}.json`);
    await writeDexieExport(bigFile, p.double, 8);
    const big = await medianRun(["doctor", "--file", bigFile, "--json"], 1, [0, 7]);
    report.add({ id: `file.${k(p.size)}.peakRssMb`, label: `doctor --file peak RSS, ${k(p.size)} events`, value: doc.peakRssMb, unit: "MB" });
    report.add({ id: `file.${k(p.double)}.peakRssMb`, label: `doctor --file peak RSS, ${k(p.double)} events`, value: big.peakRssMb, unit: "MB", note: `${Math.round(big.wallMs)} ms` });
    report.add({
      id: `file.rss.${k(p.double)}÷${k(p.size)}`,
      label: `doctor --file peak RSS, ${k(p.double)} ÷ ${k(p.size)} events`,
      value: doc.peakRssMb && big.peakRssMb ? big.peakRssMb / doc.peakRssMb : null,
      unit: "×",
      target: { op: "<=", value: 1.25 },
      note: "flat in queue size: the checks keep counts, capped id samples and one small entry per row with unfinished events",
    });
  });
}
