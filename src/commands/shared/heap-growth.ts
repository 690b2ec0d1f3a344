/**
 * Caps how far V8 lets the heap grow past its live data before the next full collection, for
 * commands that hold a whole local store in memory and churn through it: a drain rewrites every
 * row it settles, so each batch leaves old row images, lease copies and log buffers behind as
 * garbage in the old generation.
 *
 * By default V8 puts the next full-GC limit at up to 4x the live heap when the collector keeps up
 * easily, which it does here, so a drain's heap peaks at several times its live data: garbage
 * waiting, not data. The cap trades memory for full collections.
 *
 * For a drain of the whole store it is opt-in (`queue drain --low-memory`): the extra
 * collections of a large live heap cost throughput, and the drain's default is speed. A drain in
 * parts (stores/dexie/parts/parted-store.ts) always caps: its live heap is one part's, so a full
 * collection is cheap, and without the cap its peak grew with the queue after all (garbage, not
 * data: the live heap between parts stays flat while RSS climbs part after part).
 *
 * `--heap-growing-percent` is read each time V8 computes the next limit, so setting it while
 * running takes effect at the next full collection. A value given to node itself wins
 * (`node --heap-growing-percent=0 …` restores V8's default; NODE_OPTIONS does not accept it).
 */
import v8 from "node:v8";

/**
 * next full-GC limit = live heap × (1 + this / 100). At 100 (2x live) a drain keeps most of the
 * memory that 50 saves, for much less extra CPU.
 */
export const DRAIN_HEAP_GROWING_PERCENT = 100;

let applied = false;

export function capHeapGrowth(percent = DRAIN_HEAP_GROWING_PERCENT): void {
  if (applied) return;
  applied = true;
  if (process.execArgv.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
