/** Small statistics and timing helpers shared by the benchmarks (milliseconds throughout). */
import { performance } from "node:perf_hooks";

export function now(): number {
  return performance.now();
}

/** Nearest-rank percentile of unsorted samples; NaN for an empty list. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** Median of the known values (nulls and non-finite values left out); null when there are none. */
export function medianOf(xs: readonly (number | null | undefined)[]): number | null {
  const known = xs.filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  return known.length ? median(known) : null;
}

/** Runs fn once and returns its result with the elapsed wall time in ms. */
export async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = now();
  const value = await fn();
  return { ms: now() - t0, value };
}

/** events per second for `count` items done in `ms`. */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : Number.NaN;
}

/** Rounds to a sensible number of significant digits for display and JSON. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return Number(value.toFixed(Math.min(decimals, 6)));
}

export function mb(bytes: number): number {
  return bytes / (1024 * 1024);
}

/** 10000 → "10k", 1000000 → "1M". */
export function sizeLabel(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n);
}
