/**
 * The writer's pending events in (timestamp, id) order — the order of the `[status+timestamp]`
 * index — kept in memory so a claim reads no Dexie index. Entries are never removed one by one:
 * an entry whose event left pending is stale, skipped when read and swept out once stale entries
 * are the majority. Events arriving out of order wait in a side list: a few are spliced in when
 * the order is next read, many (a load) are merged by one sort.
 */
import type { Position } from "./index-pager.ts";

export interface Positioned {
  id: string;
  timestamp: number;
}

const cmp = (a: Positioned, ts: number, id: string): number =>
  a.timestamp !== ts ? a.timestamp - ts : a.id < id ? -1 : a.id > id ? 1 : 0;

/** stale entries tolerated before a sweep, by default */
const SWEEP_MIN = 1024;
/** out-of-order arrivals spliced in one by one; more are merged by sorting */
const SPLICE_MAX = 64;

export class PendingOrder<T extends Positioned> {
  private sorted: T[] = [];
  private late: T[] = [];
  private stale = 0;
  /** every entry before this index is stale */
  private head = 0;

  constructor(
    private readonly isLive: (entry: T) => boolean,
    /** stale entries tolerated before a sweep */
    private readonly sweepMin = SWEEP_MIN,
  ) {}

  add(entry: T): void {
    const last = this.sorted[this.sorted.length - 1];
    if (last === undefined || cmp(last, entry.timestamp, entry.id) < 0) this.sorted.push(entry);
    else this.late.push(entry);
  }

  /** An entry went stale (its event left pending). */
  left(): void {
    this.stale++;
  }

  /** Up to `size` ids of live entries strictly after a position, in order. */
  after(pos: Position | undefined, size: number): string[] {
    this.settle();
    const order = this.sorted;
    if (pos === undefined) while (this.head < order.length && !this.isLive(order[this.head]!)) this.head++;
    const out: string[] = [];
    for (let i = pos === undefined ? this.head : this.upperBound(pos); i < order.length && out.length < size; i++) {
      if (this.isLive(order[i]!)) out.push(order[i]!.id);
    }
    return out;
  }

  private settle(): void {
    if (this.late.length > SPLICE_MAX) {
      this.sorted = this.sorted.concat(this.late).sort((a, b) => cmp(a, b.timestamp, b.id));
      this.late = [];
      this.head = 0;
    }
    for (const entry of this.late) {
      const at = this.upperBound({ ts: entry.timestamp, id: entry.id });
      this.sorted.splice(at, 0, entry);
      if (at < this.head) this.head = at;
    }
    this.late = [];
    if (this.stale > this.sweepMin && this.stale * 2 > this.sorted.length) {
      this.sorted = this.sorted.filter(this.isLive);
      this.stale = 0;
      this.head = 0;
    }
  }

  /** First index whose entry comes after pos. */
  private upperBound(pos: Position): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(this.sorted[mid]!, pos.ts, pos.id) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
