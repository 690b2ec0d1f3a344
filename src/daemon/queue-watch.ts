/**
 * Periodic look at the queue for the daemon: sets the `queue_events{status}` and
 * `oldest_pending_age_seconds` gauges, and watches the head of the queue (the oldest event not yet
 * settled). When the same event has been the head for `stuckAfterMs` while the daemon is running,
 * it logs one warning and sets `head_stuck` to 1; it goes back to 0 as soon as the head moves.
 */
import { EVENT_STATUSES, type EventStatus } from "../core/event.ts";
import type { Metrics } from "../core/metrics.ts";
import type { Clock, QueueStore } from "../core/ports.ts";
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
}

export class QueueWatch {
  head: HeadState | null = null;
  counts: Record<EventStatus, number> = zeroCounts();

  constructor(private readonly o: QueueWatchOptions) {}

  async tick(): Promise<void> {
    const { store, metrics, clock } = this.o;
    const now = clock.now();
    const [counts, oldestPending, head] = await Promise.all([
      store.counts(),
      store.list({ statuses: ["pending"], limit: 1, order: "asc" }),
      store.list({ statuses: ["pending", "processing", "failed"], limit: 1, order: "asc" }),
    ]);
    this.counts = { ...zeroCounts(), ...counts };
    for (const s of EVENT_STATUSES) metrics.queueEvents.set({ status: s }, this.counts[s]);
    const oldest = oldestPending.events[0];
    metrics.oldestPendingAge.set(oldest ? Math.max(0, now - oldest.timestamp) / 1000 : 0);
    this.watchHead(head.events[0], now);
  }

  private watchHead(event: { id: string; status: EventStatus; lastError?: string } | undefined, now: number): void {
    const { metrics, logger, stuckAfterMs } = this.o;
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
    if (this.o.isPaused()) {
      this.head.since = now; // the clock restarts on resume
      return;
    }
    if (!this.head.stuck && now - this.head.since >= stuckAfterMs) {
      this.head.stuck = true;
      metrics.headStuck.set(1);
      logger.warn(
        { event: "head_stuck", id: event.id, status: event.status, forMs: now - this.head.since, lastError: event.lastError },
        `queue head ${event.id} has not moved for ${Math.round((now - this.head.since) / 1000)} s`,
      );
    }
  }
}

export function zeroCounts(): Record<EventStatus, number> {
  return Object.fromEntries(EVENT_STATUSES.map((s) => [s, 0])) as Record<EventStatus, number>;
}
