/**
 * How a command's returned value reaches the user: JSON on stdout with --json, otherwise the
 * command's own renderer for people. Progress goes to stderr (NDJSON with --json) so stdout stays
 * parseable.
 */
import { formatDuration } from "../../core/format-duration.ts";

export interface OutputOptions {
  json: boolean;
  stdout?: NodeJS.WritableStream;
}

export function emit<T>(value: T, render: (value: T) => string, opts: OutputOptions): void {
  const out = opts.stdout ?? process.stdout;
  if (opts.json) {
    out.write(`${JSON.stringify(value)}\n`);
  } else {
    const text = render(value);
    if (text) out.write(text.endsWith("\n") ? text : `${text}\n`);
  }
}

/** NDJSON progress lines for scripts (stderr when --json, so stdout holds only the result). */
export function progressWriter(json: boolean, stream: NodeJS.WritableStream = process.stderr) {
  return (event: Record<string, unknown>) => {
    if (json) stream.write(`${JSON.stringify({ progress: true, ...event })}\n`);
  };
}

/** An age (how long ago) for people: the human duration of core/format-duration.ts, never negative. */
export function formatAge(ms: number): string {
  return formatDuration(Number.isFinite(ms) ? Math.max(0, ms) : ms);
}

/** A plain text table: columns padded to the widest cell, long cells cut with an ellipsis. */
export function table(headers: string[], rows: string[][], maxWidth = 48): string {
  const cut = (s: string) => (s.length > maxWidth ? `${s.slice(0, maxWidth - 1)}…` : s);
  const cells = [headers, ...rows].map((r) => r.map((c) => cut(c.replace(/\s+/g, " "))));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  "))
    .join("\n");
}
