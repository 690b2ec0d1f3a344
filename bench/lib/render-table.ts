/** Renders a benchmark result as a plain text table for the terminal. */
import type { BenchResult, Figure } from "./report.ts";

function fmt(value: number | null, unit: string): string {
  if (value === null) return "n/a";
  const text = Math.abs(value) >= 1000 ? Math.round(value).toLocaleString("en-US") : String(value);
  return unit ? `${text} ${unit}` : text;
}

function verdict(f: Figure): string {
  if (!f.target) return "";
  const goal = `${f.target.op} ${fmt(f.target.value, f.unit)}`;
  if (f.pass === null || f.pass === undefined) return `${goal}  (not measured)`;
  return `${goal}  ${f.pass ? "PASS" : "FAIL"}`;
}

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd()).join("\n");
}

export function renderTable(result: BenchResult): string {
  const m = result.machine;
  const lines: string[] = [
    `benchmark ${result.benchmark}${result.quick ? " (--quick)" : ""}  ${result.startedAt}`,
    `machine: ${m.cpus} × ${m.cpuModel}, ${m.totalMemMb} MB, load ${m.loadAvg.join(" ")}, node ${m.node}${m.pgServer ? `, ${m.pgServer}` : ""}`,
    "",
  ];
  const rows: string[][] = [["figure", "value", "target", "raw baseline (same run)"]];
  for (const f of result.figures) {
    const base = (f.baselines ?? []).map((b) => `${fmt(b.value, b.unit)} (${b.label})`).join("; ");
    rows.push([f.label, fmt(f.value, f.unit), verdict(f), base]);
  }
  // notes go under their figure without widening the columns
  const table = pad(rows).split("\n");
  lines.push(table[0]!);
  result.figures.forEach((f, i) => {
    lines.push(table[i + 1]!);
    if (f.note) lines.push(`    ↳ ${f.note}`);
  });
  if (result.unavailable.length) {
    lines.push("", "not available:");
    for (const u of result.unavailable) lines.push(`  ${u.part}: ${u.reason}`);
  }
  if (result.notes.length) {
    lines.push("", "notes:");
    for (const n of result.notes) lines.push(`  ${n}`);
  }
  const s = result.summary;
  lines.push(
    "",
    `targets: ${s.passed} pass, ${s.failed} fail, ${s.notMeasured} without a value (of ${s.targets} figures with a target); ` +
      `${s.unavailableParts} part(s) not available`,
  );
  return lines.join("\n");
}
