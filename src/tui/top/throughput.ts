/**
 * Events settled per second for the sparkline. A daemon reports its own per-second buckets; for a
 * store or queue read directly, the rate is derived from how many events became completed or dead
 * between two refreshes (the last 60 rates are kept).
 */
import type { TopSnapshot } from "./model.ts";

const KEEP = 60;

/** Settled-per-second values to draw, oldest first. */
export function ratesOf(s: Pick<TopSnapshot, "throughput">): number[] {
  if (!s.throughput) return [];
  const perSecond = 1000 / s.throughput.bucketMs;
  return s.throughput.buckets.map((n) => n * perSecond);
}

/**
 * Gives a snapshot without throughput of its own one derived from the previous snapshot: the
 * settled events (completed + dead) gained since, per second, appended to the previous rates.
 */
export function withDerivedThroughput<T extends Omit<TopSnapshot, "findings">>(prev: T | undefined, next: T): T {
  if (next.throughput) return next;
  const settled = (s: T) => s.counts.completed + s.counts.dead;
  const rates = prev?.throughput ? [...prev.throughput.buckets] : [];
  if (prev && next.at > prev.at) rates.push(Math.max(0, settled(next) - settled(prev)) / ((next.at - prev.at) / 1000));
  // derived rates are already per second: a bucket of 1000 ms
  return { ...next, throughput: { bucketMs: 1000, buckets: rates.slice(-KEEP) } };
}

const BARS = "▁▂▃▄▅▆▇█";

/** The values as a row of block characters scaled to the largest (all lowest when all are 0). */
export function sparkline(values: number[], width: number): string {
  const shown = values.slice(-width);
  const max = Math.max(0, ...shown);
  return shown.map((v) => (max === 0 ? BARS[0] : BARS[Math.min(BARS.length - 1, Math.round((v / max) * (BARS.length - 1)))])).join("");
}
