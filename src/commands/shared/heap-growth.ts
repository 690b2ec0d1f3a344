/**
 * Caps how far V8 lets the heap grow past its live data before the next full collection, for
 * commands that hold a whole local store in memory and churn through it (a drain rewrites every
 * row it settles, so each batch leaves its old row images, lease copies and log buffers behind
 * as garbage in the old generation).
 *
 * By default V8 sets the next full-GC limit at up to 4x the live heap when the collector keeps
 * up easily, which it does here: a drain of 100k queued events measured ~255 MB live but a
 * ~750 MB heap (~920 MB RSS) at its peak, and 25k events ~100 MB live, ~245 MB heap. That is
 * garbage waiting, not data; capping the growth factor at 1.5x keeps the peak near the store's
 * own size at the cost of more (concurrent) full collections.
 *
 * `--heap-growing-percent` is read each time V8 computes the next limit, so setting it while
 * running takes effect at the next full collection. A flag the user passed (NODE_OPTIONS or node
 * options) wins.
 */
import v8 from "node:v8";

/** next full-GC limit = live heap × (1 + this / 100) */
export const DRAIN_HEAP_GROWING_PERCENT = 50;

let applied = false;

export function capHeapGrowth(percent = DRAIN_HEAP_GROWING_PERCENT): void {
  if (applied) return;
  applied = true;
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  if (given.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
