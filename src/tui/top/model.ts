/**
 * The data model of `mudsync top`: one snapshot of what the dashboard shows, the same value
 * `mudsync top --once --json` prints, and the TopSource interface its three adapters (a daemon's
 * control API, a store read directly, the shared Postgres queue) implement. Views only read this.
 */
import type { EventStatus, QueuedEvent } from "../../core/event.ts";
import type { HistoryEntry } from "../../core/ports.ts";
import type { BatchInFlight, RecentChange } from "../../daemon/activity-log.ts";
import type { Finding } from "../../doctor/types.ts";

export type SourceKind = "daemon" | "store" | "queue";

export interface EventFilter {
  statuses?: EventStatus[];
  entity?: string;
  order: "asc" | "desc";
}

export interface PageRequest {
  filter: EventFilter;
  /** cursor of the page (undefined: the first) */
  after?: string;
  limit: number;
}

export interface DaemonFacts {
  pid: number;
  paused: boolean;
  draining: boolean;
  uptimeMs: number;
  /** engine counters since the daemon started */
  settled: number;
  applied: number;
  retried: number;
  dead: number;
  eventsPerSec: number;
  lastBatchAt: string | null;
  /** the oldest event not yet settled, how long it has been the head, and whether it is stuck */
  head: { id: string; status: EventStatus; sinceMs: number; stuck: boolean } | null;
}

export interface TopSnapshot {
  source: { kind: SourceKind; label: string; readOnly: boolean };
  /** epoch ms when it was read */
  at: number;
  counts: Record<EventStatus, number>;
  oldestPending: { id: string; ageMs: number } | null;
  /** the daemon's own state; null when top reads a store or queue directly */
  daemon: DaemonFacts | null;
  /** events settled per second, oldest first (a daemon's last minute); null when the source keeps no such record */
  throughput: { bucketMs: number; buckets: number[] } | null;
  inFlight: BatchInFlight[] | null;
  /** newest first; null when the source follows no change feed */
  changes: RecentChange[] | null;
  /** open conflicts parked on the server; null when unknown */
  conflicts: { open: number; more: boolean } | null;
  /** one page of events under the filter */
  page: { events: QueuedEvent[]; next: string | null; after: string | null };
  /** the doctor's findings, most severe first; null until a diagnosis ran (or where none can) */
  findings: FindingsState | null;
}

export interface FindingsState {
  /** epoch ms of the diagnosis */
  at: number;
  findings: Finding[];
  healthy: boolean;
  /** why there are no findings (a diagnosis that failed or cannot run here) */
  error?: string;
}

export interface EventDetail {
  event: QueuedEvent;
  history: HistoryEntry[];
}

export type TopAction =
  | { kind: "retry"; ids: string[] }
  | { kind: "retry-failed" }
  | { kind: "drain" }
  | { kind: "pause" }
  | { kind: "resume" };

export interface TopSource {
  readonly kind: SourceKind;
  readonly label: string;
  /** why keys that write are unavailable (undefined: they are available) */
  readonly readOnly: string | undefined;
  snapshot(request: PageRequest): Promise<Omit<TopSnapshot, "findings">>;
  event(id: string): Promise<EventDetail>;
  /** runs the doctor over what the source reads; undefined when it cannot (yet) */
  diagnose?(): Promise<FindingsState>;
  /** runs an action; resolves with one line saying what it did */
  act(action: TopAction): Promise<string>;
  close(): Promise<void>;
}

/** Statuses `R` moves back to pending: the ones `queue replay` takes by default. */
export const RETRY_ALL_STATUSES: EventStatus[] = ["failed", "dead"];

export function totalOf(counts: Record<EventStatus, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
