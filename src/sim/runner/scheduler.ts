/**
 * The simulation's agenda: tasks at virtual times, run one at a time in (time, insertion) order.
 * Running them one after another is what makes a run reproducible: the same seed gives the same
 * interleaving of clients, drains and faults, whatever the machine's speed.
 */
import type { VirtualClock } from "./virtual-clock.ts";

export interface Task {
  /** virtual ms since the epoch */
  at: number;
  order: number;
  run(): Promise<void> | void;
}

export class Scheduler {
  private heap: Task[] = [];
  private order = 0;
  private stopped = false;

  constructor(private readonly clock: VirtualClock) {}

  get size(): number {
    return this.heap.length;
  }

  /** Runs `run` at virtual time `at` (ms since the epoch; never earlier than now). */
  at(at: number, run: Task["run"]): void {
    const t: Task = { at: Math.max(at, this.clock.elapsed()), order: this.order++, run };
    this.heap.push(t);
    this.up(this.heap.length - 1);
  }

  /** Runs `run` `ms` of virtual time from now. */
  after(ms: number, run: Task["run"]): void {
    this.at(this.clock.elapsed() + ms, run);
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Runs tasks until the agenda is empty, `until` (exclusive) is reached, or stop() was called.
   * With `advance`, time then moves on to `until` (a timeline that lasts that long).
   */
  async run(until = Infinity, onTask?: () => void, advance = false): Promise<void> {
    while (!this.stopped && this.heap.length > 0 && this.heap[0]!.at < until) {
      const t = this.pop();
      this.clock.advanceTo(this.clock.epoch + t.at);
      await t.run();
      onTask?.();
    }
    if (advance && until !== Infinity && !this.stopped) this.clock.advanceTo(this.clock.epoch + until);
  }

  private less(a: Task, b: Task): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }

  private pop(): Task {
    const top = this.heap[0]!;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
    return top;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
