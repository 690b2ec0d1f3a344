/**
 * Caps how far V8 lets the heap grow past its live data before the next full collection, for
 * commands that hold a whole local store in memory and churn through it: a drain rewrites every
 * row it settles, so each batch leaves old row images, lease copies and log buffers behind as
 * garbage in the old generation.
 *
 * By default V8 puts the next full-GC limit at up to 4x the live heap when the collector keeps up
 * easily, which it does here: a drain of 100k queued events measured ~255 MB live but a ~750 MB
 * heap (~920 MB RSS) at its peak, 25k events ~75-100 MB live and a ~245 MB heap. That is garbage
 * waiting, not data. The cap trades memory for full collections: measured on 100k events (busy
 * machine, 3 runs each) peak RSS / process CPU was ~950 MB / 15 s with V8's default, ~615 MB /
 * 18 s at 100 (2x live) and ~530 MB / 23 s at 50 (1.5x live).
 *
 * For a drain of the whole store it is opt-in (`queue drain --low-memory`): the extra
 * collections of a large live heap cost throughput, and the drain's default is speed. A drain in
 * parts (store-parts.ts) always caps: its live heap is one part's, so a full collection is cheap,
 * and without the cap its peak grew with the queue after all (garbage, not data: the heap after
 * a collection between parts stayed at ~63 MB through a 100k drain while RSS climbed part after
 * part from ~345 to ~530 MB).
 *
 * `--heap-growing-percent` is read each time V8 computes the next limit, so setting it while
 * running takes effect at the next full collection. A value given to node itself wins
 * (`node --heap-growing-percent=0 …` restores V8's default; NODE_OPTIONS does not accept it).
 */
import v8 from "node:v8";

/** next full-GC limit = live heap × (1 + this / 100) */
export const DRAIN_HEAP_GROWING_PERCENT = 100;

let applied = false;

export function capHeapGrowth(percent = DRAIN_HEAP_GROWING_PERCENT): void {
  if (applied) return;
  applied = true;
  if (process.execArgv.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
