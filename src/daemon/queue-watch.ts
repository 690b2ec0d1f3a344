/**
 * Periodic look at the queue for the daemon: sets the `queue_events{status}` and
 * `oldest_pending_age_seconds` gauges, and watches the head of the queue (the oldest event not yet
 * settled). When the same event has been the head for `stuckAfterMs` while the daemon is running,
 * it logs one warning and sets `head_stuck` to 1; it goes back to 0 as soon as the head moves.
 */
import { EVENT_STATUSES, type EventStatus } from "../core/event.ts";
import type { Metrics } from "./prometheus-metrics.ts";
import type { Clock, QueueStore } from "../core/ports.ts";
import { formatDuration } from "../core/format-duration.ts";
import type { DaemonLogger } from "./logger.ts";

export interface HeadState {
  id: string;
  status: EventStatus;
  /** when this event became the head (clock ms) */
  since: number;
  stuck: boolean;
}

export interface QueueWatchOptions {
  store: QueueStore;
  metrics: Metrics;
  logger: DaemonLogger;
  clock: Clock;
  stuckAfterMs: number;
  /** a paused daemon does not move the head on purpose: no warning then */
  isPaused(): boolean;
  /** monotonic ms for pacing the counts (default performance.now) */
  monotonic?: () => number;
}

/** The periodic counts take at most 1/COUNT_COST_FACTOR of the time (see QueueWatch.tick). */
export const COUNT_COST_FACTOR = 50;

export class QueueWatch {
  head: HeadState | null = null;
  /** the oldest pending event at the last look */
  oldestPending: { id: string; timestamp: number } | null = null;
  counts: Record<EventStatus, number> = zeroCounts();
  /** monotonic time from which the periodic tick counts again */
  private nextCountAt = 0;
  private readonly monotonic: () => number;

  constructor(private readonly options: QueueWatchOptions) {
    this.monotonic = options.monotonic ?? (() => performance.now());
  }

  /**
   * Reads the head of the queue and the oldest pending event, and the counts by status. Counting
   * reads the whole queue on a large shared queue (over 100 ms at 100k events): unless `fresh`, the
   * counts are refreshed only once COUNT_COST_FACTOR times their last duration has passed, so the
   * periodic watch never takes more than ~2% of a core from the server that drains the queue.
   */
  async tick(fresh = false): Promise<void> {
    const { store, metrics, clock } = this.options;
    const now = clock.now();
    const count = fresh || this.monotonic() >= this.nextCountAt;
    const [counts, oldestPending, head] = await Promise.all([
      count ? this.count() : undefined,
      store.list({ statuses: ["pending"], limit: 1, order: "asc" }),
      store.list({ statuses: ["pending", "processing", "failed"], limit: 1, order: "asc" }),
    ]);
    if (counts) {
      this.counts = { ...zeroCounts(), ...counts };
      for (const s of EVENT_STATUSES) metrics.queueEvents.set({ status: s }, this.counts[s]);
    }
    const oldest = oldestPending.events[0];
    this.oldestPending = oldest ? { id: oldest.id, timestamp: oldest.timestamp } : null;
    metrics.oldestPendingAge.set(oldest ? Math.max(0, now - oldest.timestamp) / 1000 : 0);
    this.watchHead(head.events[0], now);
  }

  private async count(): Promise<Record<EventStatus, number>> {
    const t0 = this.monotonic();
    try {
      return await this.options.store.counts();
    } finally {
      const t1 = this.monotonic();
      this.nextCountAt = t1 + COUNT_COST_FACTOR * (t1 - t0);
    }
  }

  private watchHead(event: { id: string; status: EventStatus; lastError?: string } | undefined, now: number): void {
    const { metrics, logger, stuckAfterMs } = this.options;
    if (!event) {
      this.head = null;
      metrics.headStuck.set(0);
      return;
    }
    if (this.head?.id !== event.id) {
      if (this.head?.stuck) logger.info({ event: "head_moved", was: this.head.id, now: event.id }, "queue head moved again");
      this.head = { id: event.id, status: event.status, since: now, stuck: false };
      metrics.headStuck.set(0);
      return;
    }
    this.head.status = event.status;
    if (this.options.isPaused()) {
      this.head.since = now; // the clock restarts on resume
      return;
    }
    if (!this.head.stuck && now - this.head.since >= stuckAfterMs) {
      this.head.stuck = true;
      metrics.headStuck.set(1);
      logger.warn(
        { event: "head_stuck", id: event.id, status: event.status, forMs: now - this.head.since, lastError: event.lastError },
        `queue head ${event.id} has not moved for ${formatDuration(now - this.head.since)}`,
      );
    }
  }
}

export function zeroCounts(): Record<EventStatus, number> {
  return Object.fromEntries(EVENT_STATUSES.map((s) => [s, 0])) as Record<EventStatus, number>;
}
