/**
 * What the control API can ask of a running daemon: the interface the routes call and the Daemon
 * implements, and the shapes its answers take (also what the control client reads back).
 */
import type { EventStatus, QueuedEvent } from "../core/event.ts";
import type { DrainSummary } from "../core/engine.ts";
import type { ApplyResult, HistoryEntry, ListQuery, WireEvent } from "../core/ports.ts";
import type { ActivityLogSnapshot } from "./activity-log.ts";
import type { DaemonImportResult, ImportRequest } from "./import-files.ts";


export interface Health {
  ok: boolean;
  paused: boolean;
  /** the queue store, e.g. "dexie /path/to/store" or "postgres host/db" */
  store: string;
  sink: string;
  /** why ok is false */
  reason?: string;
}

export interface DaemonStatus {
  pid: number;
  /** lease owner name the daemon claims with */
  owner: string;
  control: string;
  store: string;
  sink: string;
  paused: boolean;
  draining: boolean;
  uptimeMs: number;
  counts: Record<EventStatus, number>;
  /** counters since the daemon started */
  engine: DrainSummary;
  /** the head of the queue: the oldest event not yet settled, and since when it has been the head */
  head: { id: string; status: EventStatus; sinceMs: number; stuck: boolean } | null;
  /** the oldest pending event and how long ago it was queued */
  oldestPending: { id: string; ageMs: number } | null;
  lastBatchAt: string | null;
}

export interface RetrySelection {
  ids?: string[];
  statuses?: EventStatus[];
  /** who asked, recorded in the server's audit log (default "control API") */
  actor?: string;
}

export interface RetryResult {
  moved: number;
  /** ids asked for that do not exist, or are in flight under a live lease */
  skipped: { id: string; reason: string }[];
}

export interface EventsPage {
  counts: Record<EventStatus, number>;
  events: QueuedEvent[];
  next: string | null;
}

/**
 * GET /v1/activity: what the daemon is doing, answered without reading the queue (so that a
 * dashboard polling it never waits behind a drain): the activity log, and the status as of the
 * queue watch's last look (every few seconds; GET /v1/status counts afresh).
 */
export interface DaemonActivity extends ActivityLogSnapshot {
  status: DaemonStatus;
}

/** One event with its status history (GET /v1/event). */
export interface EventDetail {
  event: QueuedEvent;
  history: HistoryEntry[];
}

export interface DrainNowResult {
  /** events settled by the pass that ran after the request */
  settled: number;
  left: Record<EventStatus, number>;
  /** set when the daemon is paused (or stopping) and no pass ran */
  paused?: boolean;
}

export interface DaemonControl {
  health(): Promise<Health>;
  metricsText(): Promise<{ contentType: string; text: string }>;
  status(): Promise<DaemonStatus>;
  pause(): Promise<{ paused: boolean }>;
  resume(): Promise<{ paused: boolean }>;
  /** wakes the loop and resolves once one full drain pass started after the call has ended */
  drainNow(): Promise<DrainNowResult>;
  retry(selection: RetrySelection): Promise<RetryResult>;
  /** resolves once the events are durable */
  enqueue(events: QueuedEvent[]): Promise<{ ids: string[]; existing: string[] }>;
  list(query: ListQuery): Promise<EventsPage>;
  /** one event and its history; undefined when the store has no such event */
  event(id: string): Promise<EventDetail | undefined>;
  /** batches in flight and lately, throughput, recent row changes, open conflicts */
  activity(): Promise<DaemonActivity>;
  /** `queue import` of export files on this machine, all-or-nothing, through the store it holds */
  importFiles(request: ImportRequest): Promise<DaemonImportResult>;
  /** applies browser events synchronously through the sink, one batch, one result per event */
  applyBatch(events: WireEvent[]): Promise<ApplyResult[]>;
}
