/**
 * Order-preserving batching. `planBatches` groups due events across rows into batches of at most
 * `batchSize` wire events, keeping each row's edits in the server's order (compareRowOrder); a row
 * whose wire events do not fit in one batch continues, in order, in the next ones. With coalescing,
 * consecutive edits of a row first merge (see coalesce.ts). `BatchCollector` waits up to
 * `batchDelayMs` (on an injected clock) for more due events to fill a batch.
 */
import { compareRowOrder, rowKey, type QueuedEvent } from "./event.ts";
import type { Clock, WireEvent } from "./ports.ts";
import { coalesceRow, DEFAULT_COALESCE_RULES, toWireEvent, type CoalesceRules } from "./coalesce.ts";

export interface BatchOptions {
  /** most wire events per batch (≥ 1) */
  batchSize: number;
  /** merge consecutive edits of a row (default true) */
  coalesce?: boolean;
  rules?: CoalesceRules;
}

export interface Batch {
  /** what to send, in order */
  events: WireEvent[];
  /** wire event id → the ids of every original event it stands for, in the row's order */
  sources: Map<string, string[]>;
}

/**
 * Plans the batches for `events` (unique ids; any order). Rows are taken in the order their first
 * event appears in the input; inside a row, events are sorted by compareRowOrder.
 */
export function planBatches(events: readonly QueuedEvent[], options: BatchOptions): Batch[] {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`planBatches: batchSize must be an integer >= 1, got ${batchSize}`);
  }
  const rows = new Map<string, QueuedEvent[]>();
  const seen = new Set<string>();
  for (const e of events) {
    if (seen.has(e.id)) throw new Error(`planBatches: event id ${e.id} appears twice in the input`);
    seen.add(e.id);
    const key = rowKey(e);
    const list = rows.get(key);
    if (list) list.push(e);
    else rows.set(key, [e]);
  }

  const batches: Batch[] = [];
  let current: Batch = { events: [], sources: new Map() };
  for (const rowEvents of rows.values()) {
    rowEvents.sort(compareRowOrder);
    const wires =
      options.coalesce === false
        ? rowEvents.map(toWireEvent)
        : coalesceRow(rowEvents, options.rules ?? DEFAULT_COALESCE_RULES);
    for (const w of wires) {
      if (current.events.length >= batchSize) {
        batches.push(current);
        current = { events: [], sources: new Map() };
      }
      current.events.push(w);
      current.sources.set(w.id, [...(w.coalesced ?? []), w.id]);
    }
  }
  if (current.events.length > 0) batches.push(current);
  return batches;
}

export interface BatchCollectorOptions {
  batchSize: number;
  /** how long to keep waiting for more events once the first one is in hand (0 = never wait) */
  batchDelayMs: number;
  clock: Clock;
  /** how often to pull again while waiting when nobody calls notify() (default: batchDelayMs / 4) */
  pollMs?: number;
}

/**
 * Collects up to `batchSize` items from a pull function (e.g. a store's claim): pulls once; if the
 * batch is not full it waits — until `notify()` says more may be due, or a poll interval passes —
 * and pulls again, until the batch is full or `batchDelayMs` has passed since the first pull that
 * returned something. An empty first pull returns [] at once (the caller decides how to idle).
 */
export class BatchCollector {
  private wake: AbortController | undefined;
  /** notify() arrived while no one was waiting: the next wait is skipped */
  private notified = false;
  private readonly pollMs: number;

  constructor(private readonly options: BatchCollectorOptions) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new RangeError(`BatchCollector: batchSize must be an integer >= 1, got ${options.batchSize}`);
    }
    if (!(options.batchDelayMs >= 0)) {
      throw new RangeError(`BatchCollector: batchDelayMs must be >= 0, got ${options.batchDelayMs}`);
    }
    this.pollMs = Math.max(1, options.pollMs ?? Math.ceil(options.batchDelayMs / 4));
  }

  /** More items may be available: a waiting collect() pulls again now. */
  notify(): void {
    this.notified = true;
    this.wake?.abort();
  }

  async collect<T>(pull: (limit: number) => Promise<T[]>, signal?: AbortSignal): Promise<T[]> {
    const { batchSize, batchDelayMs, clock } = this.options;
    this.notified = false;
    const items = await pull(batchSize);
    if (items.length === 0 || items.length >= batchSize || batchDelayMs === 0) return items;
    const deadline = clock.now() + batchDelayMs;
    while (items.length < batchSize && !signal?.aborted) {
      const left = deadline - clock.now();
      if (left <= 0) break;
      if (this.notified) {
        this.notified = false;
        items.push(...(await pull(batchSize - items.length)));
        continue;
      }
      const wake = new AbortController();
      this.wake = wake;
      const onAbort = () => wake.abort();
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        await clock.sleep(Math.min(left, this.pollMs), wake.signal);
      } finally {
        signal?.removeEventListener("abort", onAbort);
        if (this.wake === wake) this.wake = undefined;
      }
      this.notified = false;
      if (signal?.aborted) break;
      items.push(...(await pull(batchSize - items.length)));
    }
    return items;
  }
}
