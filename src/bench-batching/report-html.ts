/**
 * The `--report` page: one self-contained HTML file (inline SVG, no script, no network) with the
 * figures table and three charts drawn by Apache ECharts' server-side SVG renderer: throughput and
 * round trips against batch size, and latency percentiles per strategy.
 */
import * as echarts from "echarts";
import type { BenchBatchingResult, StrategyFigures } from "./result.ts";
import { describePart } from "./compare-rows.ts";

const WIDTH = 880;
const HEIGHT = 360;
const COLORS: Record<string, string> = {
  naive: "#8c8c8c",
  seed: "#d9534f",
  mudsync: "#2f7ed8",
  "mudsync-nocoalesce": "#6ab04c",
  copy: "#f0a030",
};

function svgChart(option: echarts.EChartsOption): string {
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width: WIDTH, height: HEIGHT });
  try {
    chart.setOption({ animation: false, textStyle: { fontFamily: "sans-serif" }, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const round = (n: number) => (n >= 100 ? Math.round(n) : Math.round(n * 100) / 100);

/** A line per batched strategy over the batch sizes, with naive (and copy) as dashed references. */
function againstBatchSize(r: BenchBatchingResult, title: string, unit: string, pick: (s: StrategyFigures) => number, references: string[]): string {
  const sizes = r.batchSizes.map((b) => String(b.batchSize));
  const names = r.batchSizes[0]?.strategies.map((s) => s.name) ?? [];
  // shrinking symbols of different shapes keep every strategy visible where their values coincide
  const series: echarts.SeriesOption[] = names.map((name, i) => ({
    name,
    type: "line",
    symbol: (["circle", "rect", "triangle"] as const)[i % 3],
    symbolSize: 12 - 3 * (i % 3),
    color: COLORS[name],
    data: r.batchSizes.map((b) => round(pick(b.strategies.find((s) => s.name === name)!))),
  }));
  for (const name of references) {
    const s = r.strategies.find((x) => x.name === name);
    if (!s) continue;
    series.push({ name, type: "line", color: COLORS[name], symbol: "none", lineStyle: { type: "dashed" }, data: sizes.map(() => round(pick(s))) });
  }
  return svgChart({
    title: { text: title, left: "center", textStyle: { fontSize: 15 }, top: 4 },
    legend: { top: 34 },
    grid: { left: 80, right: 30, top: 80, bottom: 50 },
    xAxis: { type: "category", name: "batch size", nameLocation: "middle", nameGap: 30, data: sizes },
    yAxis: { type: "log", name: unit, nameLocation: "middle", nameGap: 60 },
    series,
  });
}

function latencyChart(r: BenchBatchingResult): string {
  const shown = r.strategies.filter((s) => s.latencyMs.p50 !== null);
  const q = ["p50", "p95", "p99"] as const;
  return svgChart({
    title: { text: `Latency from start to applied (ms; batched strategies at batch ${r.headlineBatchSize})`, left: "center", textStyle: { fontSize: 15 }, top: 4 },
    legend: { top: 34 },
    grid: { left: 80, right: 30, top: 80, bottom: 50 },
    xAxis: { type: "category", data: shown.map((s) => s.name) },
    yAxis: { type: "value", name: "ms", nameLocation: "middle", nameGap: 60 },
    series: q.map((p, i) => ({
      name: p,
      type: "bar",
      color: ["#9ecae1", "#4292c6", "#08519c"][i],
      data: shown.map((s) => round(s.latencyMs[p] ?? 0)),
    })),
  });
}

function figuresTable(r: BenchBatchingResult): string {
  const head = ["strategy", "batch", "round trips / 1000", "fewer than naive", "transactions / 1000", "events/s (median)", "spread", "× naive", "p50 / p95 / p99 ms", "CPU ms", "peak RSS MB", "rows = naive"];
  const cell = (s: StrategyFigures) => [
    s.name,
    s.batchSize === null ? "all" : String(s.batchSize),
    String(round(s.roundTripsPer1000)),
    s.roundTripReduction === null ? "–" : `${(s.roundTripReduction * 100).toFixed(2)}%`,
    String(round(s.transactionsPer1000)),
    Math.round(s.eventsPerSecond).toLocaleString("en-US"),
    `${Math.round(s.spread * 100)}%`,
    `${s.speedupVsNaive.toFixed(1)}×`,
    [s.latencyMs.p50, s.latencyMs.p95, s.latencyMs.p99].map((x) => (x === null ? "–" : String(round(x)))).join(" / "),
    String(Math.round(s.cpuMs)),
    s.peakRssMb === null ? "–" : String(Math.round(s.peakRssMb)),
    s.correct ? "yes" : "<b>WRONG</b>",
  ];
  const rows = [...r.strategies, ...r.batchSizes.filter((b) => b.batchSize !== r.headlineBatchSize).flatMap((b) => b.strategies)];
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>${rows
    .map((s) => `<tr class="${s.correct ? "" : "wrong"}">${cell(s).map((c, i) => `<td>${i === 11 ? c : esc(c)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

function differences(r: BenchBatchingResult): string {
  const wrong = r.strategies.filter((s) => !s.correct && s.firstDifference);
  if (wrong.length === 0) return "<p>Every strategy ended with the same rows as naive.</p>";
  return wrong
    .map((s) => {
      const d = s.firstDifference!;
      const part = (v: unknown) => esc(describePart(v, d.path));
      return `<p><b>${esc(s.name)}</b> ends with rows different from naive's. First: ${esc(d.entity)} <code>${esc(d.id)}</code>${d.path ? ` at <code>${esc(d.path)}</code>` : ""} (batch ${d.batchSize})</p>
<pre>naive: ${part(d.expected)}\n${esc(s.name)}: ${part(d.actual)}</pre>`;
    })
    .join("\n");
}

export function renderReportHtml(r: BenchBatchingResult): string {
  const w = r.workload;
  const m = r.machine;
  const warnings = r.warnings.length ? `<h2>Warnings</h2><ul>${r.warnings.map((x) => `<li>${esc(x)}</li>`).join("")}</ul>` : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mudsync bench batching: ${esc(w.name)}</title>
<style>
body { font-family: sans-serif; margin: 24px auto; max-width: 960px; color: #222; }
table { border-collapse: collapse; font-size: 12px; margin: 12px 0; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.wrong td { background: #fbe3e2; }
pre { background: #f6f6f6; padding: 8px; white-space: pre-wrap; word-break: break-all; font-size: 12px; }
.chart { margin: 16px 0; }
</style></head><body>
<h1>mudsync bench batching</h1>
<p>${w.events} <b>${esc(w.name)}</b> actions by ${w.clients} client(s) on ${w.rows} rows, seed ${w.seed}; ${r.repeat} repeat(s), medians.
Database: ${esc(r.database.label)} (PostgreSQL ${esc(r.database.serverVersion)}). Machine: ${m.cpus} × ${esc(m.cpuModel)}, ${m.totalMemMb} MB, load ${m.loadAvg.join(" ")}, Node ${esc(m.node)}.
Started ${esc(r.startedAt)}, took ${Math.round(r.durationMs / 1000)} s.</p>
${figuresTable(r)}
${differences(r)}
<div class="chart">${againstBatchSize(r, "Throughput against batch size (events/s, log scale)", "events/s", (s) => s.eventsPerSecond, ["naive", "copy"])}</div>
<div class="chart">${againstBatchSize(r, "Round trips per 1000 actions against batch size (log scale)", "round trips", (s) => s.roundTripsPer1000, ["naive"])}</div>
<div class="chart">${latencyChart(r)}</div>
${warnings}
</body></html>
`;
}
