/**
 * What the daemon did lately, for GET /v1/activity (the dashboard of `mudsync top`): the batches in
 * flight, the last batches with their outcomes, events settled per second over the last minute,
 * and the last row changes of the change feed. Bounded rings only: memory does not grow with time.
 */
import type { ApplyOutcome, RowChange } from "../core/ports.ts";

export interface BatchInFlight {
  source: string;
  /** wire events sent (0 while a one-statement transaction is still claiming) */
  events: number;
  startedAt: string;
}

export interface RecentBatch {
  source: string;
  events: number;
  ms: number;
  at: string;
  outcomes?: Record<ApplyOutcome, number>;
  error?: string;
}

export interface RecentChange extends RowChange {
  at: string;
}

/** What the log holds (GET /v1/activity adds the daemon's status). */
export interface ActivityLogSnapshot {
  inFlight: BatchInFlight[];
  /** newest first */
  batches: RecentBatch[];
  /** events settled by batches that ended in each second, oldest first; the last bucket is the current second */
  throughput: { bucketMs: number; buckets: number[] };
  /** newest first */
  changes: RecentChange[];
  /** open conflicts parked on the server (`manual` strategy), at most `conflictsLimit`; null when the sink cannot list them */
  conflictsOpen: number | null;
  /** true when there are more open conflicts than counted */
  conflictsMore: boolean;
}

export const ACTIVITY_BUCKETS = 60;
const BUCKET_MS = 1000;
const KEEP_BATCHES = 20;
const KEEP_CHANGES = 20;

export class ActivityLog {
  private readonly inFlight = new Map<number, BatchInFlight>();
  private nextToken = 1;
  private readonly batches: RecentBatch[] = [];
  private readonly changes: RecentChange[] = [];
  /** bucket index (ms / BUCKET_MS) → events settled */
  private readonly settled = new Map<number, number>();

  constructor(private readonly now: () => number) {}

  /** A batch was sent; returns the token its end reports with. */
  started(source: string, events: number): number {
    const token = this.nextToken++;
    this.inFlight.set(token, { source, events, startedAt: new Date(this.now()).toISOString() });
    return token;
  }

  /** The batch ended without sending anything (nothing was due). */
  cancelled(token: number | undefined): void {
    if (token !== undefined) this.inFlight.delete(token);
  }

  ended(token: number | undefined, report: { source: string; events: number; ms: number; outcomes?: Record<ApplyOutcome, number>; error?: unknown }): void {
    if (token !== undefined) this.inFlight.delete(token);
    const at = this.now();
    const batch: RecentBatch = { source: report.source, events: report.events, ms: report.ms, at: new Date(at).toISOString() };
    if (report.outcomes) batch.outcomes = report.outcomes;
    if (report.error !== undefined) batch.error = report.error instanceof Error ? report.error.message : String(report.error);
    pushFront(this.batches, batch, KEEP_BATCHES);
    if (report.outcomes) {
      const bucket = Math.floor(at / BUCKET_MS);
      const n = Object.values(report.outcomes).reduce((a, b) => a + b, 0);
      this.settled.set(bucket, (this.settled.get(bucket) ?? 0) + n);
      for (const key of this.settled.keys()) if (key <= bucket - ACTIVITY_BUCKETS) this.settled.delete(key);
    }
  }

  changed(change: RowChange): void {
    pushFront(this.changes, { ...change, at: new Date(this.now()).toISOString() }, KEEP_CHANGES);
  }

  snapshot(conflicts: { open: number | null; more: boolean }): ActivityLogSnapshot {
    const current = Math.floor(this.now() / BUCKET_MS);
    const buckets = Array.from({ length: ACTIVITY_BUCKETS }, (_, i) => this.settled.get(current - ACTIVITY_BUCKETS + 1 + i) ?? 0);
    return {
      inFlight: [...this.inFlight.values()],
      batches: [...this.batches],
      throughput: { bucketMs: BUCKET_MS, buckets },
      changes: [...this.changes],
      conflictsOpen: conflicts.open,
      conflictsMore: conflicts.more,
    };
  }
}

function pushFront<T>(ring: T[], item: T, keep: number): void {
  ring.unshift(item);
  if (ring.length > keep) ring.length = keep;
}
