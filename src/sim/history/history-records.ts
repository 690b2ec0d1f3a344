/**
 * The records of a simulation history (one JSON object per NDJSON line, docs/sim.md "History"):
 * TypeScript types for the runner that writes them and the checker that judges them, and a zod
 * schema per record for reading a file back. Unknown extra fields are accepted and dropped.
 */
import { z } from "zod";

/** The `format` a header carries; bumped when a record changes incompatibly. */
export const HISTORY_FORMAT = 1;

/** A normalised row value: a document is its object, a chart is `{entryId: label}`, missing is `null`. */
export type RowValue = Record<string, unknown> | null;
/** What one edit does to a row: key → value (`null` removes the key); `null` removes the row. */
export type Effect = Record<string, unknown | null> | null;

export type WriteOp = "add" | "update" | "remove";
export type SettleStatus = "completed" | "pending" | "failed" | "dead";
export type SettleOutcome = "applied" | "duplicate" | "coalesced" | "conflict" | "rejected";
export type ReadSource = "cache" | "server" | "offline";

/** Virtual time (ms since the run's epoch) and wall time (ms since the run started). */
interface Timed {
  vt: number;
  wt: number;
}

export interface HeaderRecord {
  type: "header";
  scenario: string;
  seed: number;
  /** client ids, in index order */
  clients: string[];
  /** entity → strategy, `*` for the default */
  strategies: Record<string, string>;
  /** epoch ms of vt 0 */
  epoch: number;
  format: typeof HISTORY_FORMAT;
}

export interface WriteRecord extends Timed {
  type: "write";
  client: string;
  event: string;
  seq: number;
  /** `<entity>:<id>` */
  row: string;
  op: WriteOp;
  effect: Effect;
  /** the confirmed version the client's view had, or null */
  baseVersion: number | null;
  outcome: "acked" | "refused";
  reason?: string;
  /** the fault kind, for injected events */
  fault?: string;
}

export interface SettleRecord extends Timed {
  type: "settle";
  client: string;
  event: string;
  row: string;
  status: SettleStatus;
  outcome?: SettleOutcome;
  version?: number | null;
  reason?: string;
  /** present when a conflict resubmits a changed edit */
  effect?: Effect;
}

export interface CommitRecord extends Timed {
  type: "commit";
  client: string;
  event: string;
  row: string;
  version: number | null;
}

export interface RollbackRecord extends Timed {
  type: "rollback";
  client: string;
  event: string;
  row: string;
  reason: string;
}

export interface ReadRecord extends Timed {
  type: "read";
  client: string;
  row: string;
  /** confirmed version under the view, or null */
  version: number | null;
  value: RowValue;
  /** event ids layered on top of the confirmed row */
  pending: string[];
  source: ReadSource;
}

export interface FinalViewRecord extends Omit<ReadRecord, "type"> {
  type: "final-view";
}

export interface PhaseRecord extends Timed {
  type: "phase";
  client: string;
  phase: "online" | "offline";
}

export interface FaultRecord extends Timed {
  type: "fault";
  kind: string;
  /** the client it hit; absent or null when it is not one client's */
  client?: string | null;
  detail?: unknown;
}

/** Final server state: one line per row. */
export interface RowRecord {
  type: "row";
  row: string;
  version: number | null;
  value: RowValue;
}

/** Final server state: one line per event in `applied_events` or the audit log. */
export interface LedgerRecord {
  type: "ledger";
  event: string;
  outcome: string | null;
  version: number | null;
  /** number of `applied` decisions in the audit log */
  audited: number;
}

/** Final server state: one line per parked conflict. */
export interface ConflictRecord {
  type: "conflict";
  event: string;
  status: string;
}

export interface EndRecord {
  type: "end";
  vt: number;
  wt: number;
  events: number;
  faults: Record<string, number>;
  batches: number;
}

export type HistoryRecord =
  | HeaderRecord
  | WriteRecord
  | SettleRecord
  | CommitRecord
  | RollbackRecord
  | ReadRecord
  | FinalViewRecord
  | PhaseRecord
  | FaultRecord
  | RowRecord
  | LedgerRecord
  | ConflictRecord
  | EndRecord;

export type HistoryRecordType = HistoryRecord["type"];

// ---- schemas for reading ----

const time = z.number().finite().nonnegative();
const id = z.string().min(1);
const version = z.number().int().nonnegative();
const rowValue = z.record(z.string(), z.unknown()).nullable();
const effect = z.record(z.string(), z.unknown()).nullable();
const timed = { vt: time, wt: time };

export const headerRecordSchema = z.object({
  type: z.literal("header"),
  scenario: z.string(),
  seed: z.number(),
  clients: z.array(id),
  strategies: z.record(z.string(), z.string()),
  epoch: z.number(),
  format: z.literal(HISTORY_FORMAT),
});

export const writeRecordSchema = z.object({
  type: z.literal("write"),
  ...timed,
  client: id,
  event: id,
  seq: z.number().int().nonnegative(),
  row: id,
  op: z.enum(["add", "update", "remove"]),
  effect,
  baseVersion: version.nullable(),
  outcome: z.enum(["acked", "refused"]),
  reason: z.string().optional(),
  fault: z.string().optional(),
});

export const settleRecordSchema = z.object({
  type: z.literal("settle"),
  ...timed,
  client: id,
  event: id,
  row: id,
  status: z.enum(["completed", "pending", "failed", "dead"]),
  outcome: z.enum(["applied", "duplicate", "coalesced", "conflict", "rejected"]).optional(),
  version: version.nullable().optional(),
  reason: z.string().optional(),
  effect: effect.optional(),
});

export const commitRecordSchema = z.object({
  type: z.literal("commit"),
  ...timed,
  client: id,
  event: id,
  row: id,
  version: version.nullable(),
});

export const rollbackRecordSchema = z.object({
  type: z.literal("rollback"),
  ...timed,
  client: id,
  event: id,
  row: id,
  reason: z.string(),
});

const viewFields = {
  ...timed,
  client: id,
  row: id,
  version: version.nullable(),
  value: rowValue,
  pending: z.array(id),
  source: z.enum(["cache", "server", "offline"]),
};

export const readRecordSchema = z.object({ type: z.literal("read"), ...viewFields });
export const finalViewRecordSchema = z.object({ type: z.literal("final-view"), ...viewFields });

export const phaseRecordSchema = z.object({
  type: z.literal("phase"),
  ...timed,
  client: id,
  phase: z.enum(["online", "offline"]),
});

export const faultRecordSchema = z.object({
  type: z.literal("fault"),
  ...timed,
  kind: id,
  client: id.nullable().optional(),
  detail: z.unknown().optional(),
});

export const rowRecordSchema = z.object({
  type: z.literal("row"),
  row: id,
  version: version.nullable(),
  value: rowValue,
});

export const ledgerRecordSchema = z.object({
  type: z.literal("ledger"),
  event: id,
  outcome: z.string().nullable(),
  version: version.nullable(),
  audited: z.number().int().nonnegative(),
});

export const conflictRecordSchema = z.object({
  type: z.literal("conflict"),
  event: id,
  status: z.string(),
});

export const endRecordSchema = z.object({
  type: z.literal("end"),
  vt: time,
  wt: time,
  events: z.number().int().nonnegative(),
  faults: z.record(z.string(), z.number().int().nonnegative()),
  batches: z.number().int().nonnegative(),
});

/** The schema of each record type, for reading a line once its `type` is known. */
export const HISTORY_RECORD_SCHEMAS = {
  header: headerRecordSchema,
  write: writeRecordSchema,
  settle: settleRecordSchema,
  commit: commitRecordSchema,
  rollback: rollbackRecordSchema,
  read: readRecordSchema,
  "final-view": finalViewRecordSchema,
  phase: phaseRecordSchema,
  fault: faultRecordSchema,
  row: rowRecordSchema,
  ledger: ledgerRecordSchema,
  conflict: conflictRecordSchema,
  end: endRecordSchema,
} as const satisfies Record<HistoryRecordType, z.ZodType>;

// each schema's output must be usable as its record type
type SchemaOutputs = { [K in HistoryRecordType]: z.output<(typeof HISTORY_RECORD_SCHEMAS)[K]> };
type RecordOf<K extends HistoryRecordType> = Extract<HistoryRecord, { type: K }>;
const schemasMatchTypes: { [K in HistoryRecordType]: SchemaOutputs[K] extends RecordOf<K> ? true : false } = {
  header: true,
  write: true,
  settle: true,
  commit: true,
  rollback: true,
  read: true,
  "final-view": true,
  phase: true,
  fault: true,
  row: true,
  ledger: true,
  conflict: true,
  end: true,
};
void schemasMatchTypes;

/** The record types, in the order the table of docs/sim.md lists them. */
export const HISTORY_RECORD_TYPES = Object.keys(HISTORY_RECORD_SCHEMAS) as HistoryRecordType[];
