/**
 * The doctor's data model: what a diagnosis reads (a local store, an export file, or the shared
 * Postgres queue, optionally with the server and a running daemon's head) and what it reports.
 * `mudsync doctor` renders it, `--json` prints it, and `mudsync top` shows the same findings.
 */
import type { StoreKeys } from "../stores/dexie/store-encryption.ts";

export type Severity = "error" | "warning" | "info";

/** Severities from most to least severe: findings are reported in this order. */
export const SEVERITIES: readonly Severity[] = ["error", "warning", "info"];

export interface Finding {
  /** stable name of the check that found it, e.g. `stuck-processing` (see FINDING_KINDS) */
  kind: string;
  severity: Severity;
  /** one line: what is wrong */
  title: string;
  /** what was seen that shows it: counts, times, the first ids */
  evidence: string;
  /** the first events it concerns (capped) */
  eventIds: string[];
  /** how many more events it concerns beyond `eventIds` */
  moreEvents: number;
  /** the exact command that fixes it, to paste */
  fix: string;
}

export interface DoctorReport {
  /** what was read: the store directory, the export file, or the queue URL with its password masked */
  source: string;
  /** events read */
  events: number;
  /** most severe first */
  findings: Finding[];
  /** true when no finding is an error or a warning (info findings keep a queue healthy) */
  healthy: boolean;
}

/** A running daemon's view of the head of its queue (the `head` and `paused` of GET /v1/status). */
export interface DaemonHeadStatus {
  head: { id: string; status: string; sinceMs: number; stuck?: boolean } | null;
  paused?: boolean;
  /** the daemon's control address, named in the evidence */
  control?: string;
}

/** What to diagnose. `top` builds the same value from what it watches. */
export type DoctorSource =
  | { kind: "store"; dir: string; keys?: StoreKeys }
  | { kind: "file"; path: string }
  | { kind: "queue"; url: string; schema?: string };

export type DoctorInput = DoctorSource & {
  /** the server (postgres://…): adds the checks against `applied_events` and the rows' versions */
  db?: string;
  /** the server's mudsync schema (default `mudsync`) */
  dbSchema?: string;
  /** a running daemon's status, for the stuck-head check (absent: that check is not made) */
  daemon?: DaemonHeadStatus;
};

export interface DiagnoseOptions {
  /** the time the checks compare against (default Date.now()) */
  now?: number;
  /** a head that has not moved for longer than this is stuck (config `stuckAfterMs`, default 60000) */
  stuckAfterMs?: number;
  /** event ids listed per finding (default 10); the rest are counted in `moreEvents` */
  sampleSize?: number;
  /** called as events are read; `total` when known (an export's bytes are mapped to events read) */
  onProgress?: (progress: { done: number; total?: number; unit: string }) => void;
}
