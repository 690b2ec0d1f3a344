/**
 * What a check is: pure code that sees every event of one snapshot once (with what the server
 * said about it, when a server was given) and then reports its findings. A check keeps bounded
 * state (counts, a capped sample of ids, or small per-row entries), never the events themselves.
 */
import type { QueuedEvent } from "../core/event.ts";
import type { FixCommands } from "./fix-commands.ts";
import type { DaemonHeadStatus, Finding, Severity } from "./types.ts";

/** What the server said about one event (with --db). */
export interface ServerFacts {
  /** the event id is in `applied_events` */
  applied: boolean;
  /** the version of the row the event edits; null when the row does not exist on the server */
  rowVersion: number | null;
}

/** A row of an export that is not a valid event (bad shape, a repeated id). */
export interface InvalidEventRow {
  id?: string;
  /** JSON path of the problem in the file */
  where: string;
  reason: string;
}

/** The server's settings the checks read once, before the events. */
export interface ServerSettings {
  /** entity names in the server's registry */
  entities: ReadonlySet<string>;
  /** `max_payload_bytes`: larger payloads are rejected */
  maxPayloadBytes: number;
  /** the server as named in evidence (password masked) */
  label: string;
}

/** The tags of a local store's cache entries, checked without serving them (absent: not a local store). */
export interface CacheTagReport {
  entries: number;
  encrypted: boolean;
  /** entries whose tag does not match (altered on disk), and the first of their keys */
  altered: number;
  alteredKeys: string[];
  /** entries stored without a tag (never served) */
  untagged: number;
}

export interface RuleContext {
  now: number;
  sampleSize: number;
  fix: FixCommands;
  stuckAfterMs: number;
  daemon?: DaemonHeadStatus;
  server?: ServerSettings;
  cache?: CacheTagReport;
  /** the source checked every event's values as it read them (an export's reader does) */
  valuesChecked?: boolean;
}

export interface Rule {
  observe?(event: QueuedEvent, server: ServerFacts | undefined): void;
  invalid?(row: InvalidEventRow): void;
  /** the findings, once every event was seen; `events` is how many were read */
  findings(events: number): Finding[];
}

/** A kind of finding: its name, severity and one line for --help and the docs. */
export interface RuleSpec {
  kind: string;
  severity: Severity;
  summary: string;
  create(ctx: RuleContext): Rule;
}

/** A check: its kind, severity and summary, and how it is made for one diagnosis. */
export function defineRule(kind: string, severity: Severity, summary: string, create: (ctx: RuleContext) => Rule): RuleSpec {
  return { kind, severity, summary, create };
}

/** The kind and severity of a finding of this check. */
export function kindOf(spec: RuleSpec): Pick<Finding, "kind" | "severity"> {
  return { kind: spec.kind, severity: spec.severity };
}

/** The events a finding lists and how many more it concerns. */
export function listed(sample: { ids: string[]; more: number }): Pick<Finding, "eventIds" | "moreEvents"> {
  return { eventIds: sample.ids, moreEvents: sample.more };
}

/** The severity order used to sort findings (errors first). */
export function severityRank(s: Severity): number {
  return s === "error" ? 0 : s === "warning" ? 1 : 2;
}

/** `n thing` / `n things`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** An ISO time for evidence. */
export function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}
