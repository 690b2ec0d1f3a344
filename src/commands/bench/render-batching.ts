/** `bench batching` for people: the figures table, a chart of throughput against batch size, verdicts. */
import type { BenchBatchingResult, StrategyFigures } from "../../bench-batching/result.ts";
import { table } from "../shared/output.ts";
import { describePart } from "../../bench-batching/compare-rows.ts";

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number | null) => (n === null ? "–" : n >= 100 ? int(n) : n.toFixed(1));
const pct = (x: number | null) => (x === null ? "–" : `${(x * 100).toFixed(x > 0.999 ? 2 : 1)}%`);

function batchLabel(s: StrategyFigures): string {
  return s.batchSize === null ? "all" : String(s.batchSize);
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function figuresTable(r: BenchBatchingResult): string {
  const rows = r.strategies.map((s) => [
    s.name,
    batchLabel(s),
    s.roundTripsPer1000 >= 10 ? int(s.roundTripsPer1000) : s.roundTripsPer1000.toFixed(2),
    pct(s.roundTripReduction),
    s.transactionsPer1000 >= 10 ? int(s.transactionsPer1000) : s.transactionsPer1000.toFixed(2),
    `${int(s.eventsPerSecond)}${r.repeat > 1 ? ` ±${Math.round((s.spread * 100) / 2)}%` : ""}`,
    `${s.speedupVsNaive.toFixed(1)}×`,
    `${ms(s.latencyMs.p50)} / ${ms(s.latencyMs.p95)} / ${ms(s.latencyMs.p99)}`,
    int(s.cpuMs),
    s.peakRssMb === null ? "–" : int(s.peakRssMb),
    s.correct ? "yes" : "WRONG",
  ]);
  return table(["strategy", "batch", "trips/1k", "fewer", "tx/1k", "events/s", "×naive", "latency p50/p95/p99 ms", "CPU ms", "RSS MB", "rows = naive"], rows, 40);
}

/** One bar per batched strategy and batch size, against naive's and copy's events/s. */
export function throughputChart(r: BenchBatchingResult, width = 36): string {
  const naive = r.strategies.find((s) => s.name === "naive");
  const copy = r.strategies.find((s) => s.name === "copy");
  const batched = r.batchSizes.flatMap((b) => b.strategies);
  const max = Math.max(1, ...batched.map((s) => s.eventsPerSecond), naive?.eventsPerSecond ?? 0);
  const nameWidth = Math.max(...batched.map((s) => s.name.length), 5);
  const bar = (v: number) => {
    const n = Math.max(v > 0 ? 1 : 0, Math.round((v / max) * width));
    return `${"█".repeat(n)}${" ".repeat(width - n)}`;
  };
  const lines = [`events/s against batch size${copy ? ` (copy: ${int(copy.eventsPerSecond)} events/s, off the scale)` : ""}`];
  if (naive) lines.push(`  ${"".padStart(12)}${"naive".padEnd(nameWidth)}  ${bar(naive.eventsPerSecond)} ${int(naive.eventsPerSecond)}`);
  for (const b of r.batchSizes) {
    b.strategies.forEach((s, i) => {
      const head = (i === 0 ? `batch ${b.batchSize}  ` : "").padStart(12);
      lines.push(`  ${head}${s.name.padEnd(nameWidth)}  ${bar(s.eventsPerSecond)} ${int(s.eventsPerSecond)}${s.correct ? "" : "  (wrong rows)"}`);
    });
  }
  return lines.join("\n");
}

function verdicts(r: BenchBatchingResult): string[] {
  const out: string[] = [];
  for (const s of r.strategies) {
    const d = s.firstDifference;
    if (s.correct || !d) continue;
    const at = (v: unknown) => cut(describePart(v, d.path), 160);
    out.push(
      `${s.name} ends with rows different from naive's: first ${d.entity} ${d.id}${d.path ? ` at ${d.path}` : ""} (batch ${d.batchSize}):` +
        `\n    naive: ${at(d.expected)}\n    ${s.name}: ${at(d.actual)}`,
    );
  }
  const m = r.strategies.find((s) => s.name === "mudsync");
  const copy = r.strategies.find((s) => s.name === "copy");
  if (m) {
    out.push(
      `mudsync at batch ${m.batchSize}: ${pct(m.roundTripReduction)} fewer round trips than naive, ${m.speedupVsNaive.toFixed(1)}× naive's events/s` +
        `${copy ? `, ${pct(m.eventsPerSecond / copy.eventsPerSecond)} of copy's` : ""}; final rows ${m.correct ? "equal naive's" : "DIFFER from naive's"}`,
    );
  }
  return out;
}

export function renderBenchBatching(r: BenchBatchingResult): string {
  const w = r.workload;
  const m = r.machine;
  const lines = [
    `bench batching: ${w.events} ${w.name} actions by ${w.clients} client(s) on ${w.rows} rows, ${r.repeat} repeat(s), medians`,
    `database: ${r.database.label} (PostgreSQL ${r.database.serverVersion}); machine: ${m.cpus} × ${m.cpuModel}, load ${m.loadAvg.join(" ")}`,
    "",
    figuresTable(r),
    "",
    throughputChart(r),
    "",
    ...verdicts(r),
  ];
  if (r.warnings.length) lines.push("", "warnings:", ...r.warnings.map((x) => `  ${x}`));
  return lines.join("\n");
}
