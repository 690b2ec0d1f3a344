/**
 * The run's change feed, shared by every client: one subscription to the server's row changes
 * (LISTEN/NOTIFY on Postgres and PGlite), fanned out to the clients that are online. After each
 * drain the runner waits until the feed has delivered the versions that drain wrote, so every
 * client sees a change at the same point of every run, whatever the notification latency.
 */
import type { ChangeFeed, RowChange } from "../../core/ports.ts";

export class FeedHub {
  private readonly seen = new Map<string, number>();
  private queue: RowChange[] = [];
  private unsubscribe: (() => Promise<void>) | undefined;
  /** wakes a settle() waiting for the next change */
  private wake: (() => void) | undefined;
  /** drains whose changes did not all arrive in time */
  late = 0;

  async start(feed: ChangeFeed): Promise<void> {
    this.unsubscribe = await feed.subscribe((change) => {
      const row = `${change.entity}:${change.id}`;
      this.seen.set(row, Math.max(this.seen.get(row) ?? 0, change.version));
      this.queue.push(change);
      this.wake?.();
    });
  }

  /** Waits (wall time, at most `timeoutMs`) until each row has been announced at its version. */
  async settle(written: ReadonlyMap<string, number>, timeoutMs = 5000): Promise<void> {
    if (written.size === 0) return;
    const deadline = performance.now() + timeoutMs;
    const missing = () => [...written].some(([row, v]) => (this.seen.get(row) ?? -1) < v);
    while (missing()) {
      const left = deadline - performance.now();
      if (left <= 0) {
        this.late += 1;
        return;
      }
      // woken by the next change, or by the deadline
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
      this.wake = undefined;
    }
  }

  /** The changes received since the last call, one per row (the latest), in row order. */
  take(): RowChange[] {
    const latest = new Map<string, RowChange>();
    for (const c of this.queue) latest.set(`${c.entity}:${c.id}`, c);
    this.queue = [];
    return [...latest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c);
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
