/**
 * How an event is laid out in `<schema>.events`: the fields that claim and settle write (the lease
 * fields status, nextAttemptAt, leaseUntil, leaseOwner, attempts, and the settle fields outcome,
 * completedAt, appliedVersion, deadAt, lastError) live in plain columns that those statements set
 * directly, everything else stays in the `event` jsonb as given (unknown fields kept): settling an
 * event never rebuilds its jsonb. The event's history is in the same row (`history`, text with one
 * JSON entry per line, newest HISTORY_MAX entries), appended to by the same UPDATE that changes the
 * status, so a claim or settle writes one row per event and nothing else.
 * Holds the SQL that splits an event into the row and the code that puts the row back together.
 */
import type { EventStatus, QueuedEvent } from "../../core/event.ts";
import type { HistoryEntry } from "../../core/ports.ts";

/** History entries kept per event (the oldest are dropped), as the local store does. */
export const HISTORY_MAX = 100;

/** Event fields kept in their own columns instead of in `event`, with each one's column and type. */
export const FIELD_COLUMNS = {
  status: { column: "status", type: "text" },
  nextAttemptAt: { column: "next_attempt_at", type: "double precision" },
  leaseUntil: { column: "lease_until", type: "double precision" },
  leaseOwner: { column: "lease_owner", type: "text" },
  attempts: { column: "attempts", type: "integer" },
  outcome: { column: "outcome", type: "text" },
  completedAt: { column: "completed_at", type: "double precision" },
  appliedVersion: { column: "applied_version", type: "bigint" },
  deadAt: { column: "dead_at", type: "double precision" },
  lastError: { column: "last_error", type: "text" },
} as const;
export type ColumnField = keyof typeof FIELD_COLUMNS;
export const COLUMN_FIELDS = Object.keys(FIELD_COLUMNS) as ColumnField[];

/** The columns of the column fields, in COLUMN_FIELDS order. */
const FIELD_COLUMN_NAMES = COLUMN_FIELDS.map((f) => FIELD_COLUMNS[f].column);

/** The columns of the column fields of table alias `a`, as a select or returning list. */
export function fieldColumns(a: string): string {
  return FIELD_COLUMN_NAMES.map((c) => `${a}.${c}`).join(", ");
}

/** The column fields as a text[] literal, to strip them from an event's jsonb. */
const FIELDS_ARRAY = `'{${COLUMN_FIELDS.join(",")}}'::text[]`;

/** Columns of the row order, written once by enqueue/put. */
const ORDER_COLUMNS = "entity, entity_id, client_id, seq, ts";

/** The columns an INSERT writes, in the order of `insertValues`. */
export const INSERT_COLUMNS = `id, event, ${FIELD_COLUMN_NAMES.join(", ")}, ${ORDER_COLUMNS}`;

/** `j`'s field f as the type of its column. */
function fieldValue(j: string, f: ColumnField): string {
  const { type } = FIELD_COLUMNS[f];
  return type === "text" ? `${j}->>'${f}'` : `(${j}->'${f}')::${type}`;
}

/** The values of INSERT_COLUMNS taken from one validated event `j` (jsonb). */
export function insertValues(j: string): string {
  return `${j}->>'id', ${j} - ${FIELDS_ARRAY}, ${COLUMN_FIELDS.map((f) => fieldValue(j, f)).join(", ")},
          ${j}->>'entity', ${j}->>'entityId', coalesce(${j}->>'clientId', ''),
          coalesce((${j}->'seq')::bigint, -1), (${j}->'timestamp')::double precision`;
}

/**
 * The columns to read to rebuild an event (`a` is the table alias); a bigint column is read as
 * double precision, so that it arrives as a number (every such field is a JS safe integer).
 */
export function eventColumns(a: string): string {
  const cols = COLUMN_FIELDS.map((f) => {
    const { column, type } = FIELD_COLUMNS[f];
    return type === "bigint" ? `${a}.${column}::double precision AS ${column}` : `${a}.${column}`;
  });
  return `${a}.event, ${cols.join(", ")}`;
}

/** `json_build_object` arguments for the columns of eventColumns (an event handed back inside JSON). */
export function eventColumnsJson(a: string): string {
  return FIELD_COLUMN_NAMES.map((c) => `'${c}', ${a}.${c}`).join(", ");
}

export interface EventRow {
  event: Record<string, unknown>;
  status: EventStatus;
  next_attempt_at: number | null;
  lease_until: number | null;
  lease_owner: string | null;
  attempts: number | null;
  outcome: string | null;
  completed_at: number | null;
  applied_version: number | null;
  dead_at: number | null;
  last_error: string | null;
}

/** The event as stored: its jsonb with the column fields that are set put back. */
export function rowToEvent(r: EventRow): QueuedEvent {
  const e = r.event as Record<string, unknown>;
  for (const f of COLUMN_FIELDS) {
    const v = r[FIELD_COLUMNS[f].column];
    if (v !== null && v !== undefined) e[f] = v;
  }
  return e as QueuedEvent;
}

/** SQL expressions of one history entry. */
export interface HistorySql {
  at: string;
  from: string;
  to: string;
  note: string;
}

/**
 * `history` with one entry appended, dropping the oldest beyond HISTORY_MAX. The column is text:
 * one JSON object per entry, each ending in a newline, oldest first (005_history_lines.sql), so an
 * append is a text concatenation (appending to a jsonb array takes the array apart and builds it
 * again, a visible share of the one-statement drain's server CPU). `from` and `to` are statuses (the table's
 * check constraint keeps them to plain words), `at` a finite time: written as they are; only
 * the note is escaped.
 */
export function appendHistory(history: string, e: HistorySql): string {
  const item = `'{"at":' || (${e.at})::double precision::text || ',"from":' || coalesce('"' || (${e.from}) || '"', 'null')
          || ',"to":"' || (${e.to}) || '","note":' || coalesce(to_json((${e.note})::text)::text, 'null') || E'}\n'`;
  const entries = `(length(${history}) - length(replace(${history}, E'\n', '')))`;
  return `CASE WHEN ${entries} >= ${HISTORY_MAX} THEN substr(${history}, strpos(${history}, E'\n') + 1) ELSE ${history} END
          || ${item}`;
}

/** One entry of the `history` column. */
export interface StoredHistoryEntry {
  at: number;
  from: EventStatus | null;
  to: EventStatus;
  note: string | null;
}

/** The entries of a `history` column's text, oldest first. */
export function parseHistory(text: string): StoredHistoryEntry[] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as StoredHistoryEntry);
}

/** One stored history entry as the port returns it. */
export function historyEntry(eventId: string, h: StoredHistoryEntry): HistoryEntry {
  const entry: HistoryEntry = { eventId, at: h.at, to: h.to };
  if (h.from !== null && h.from !== undefined) entry.from = h.from;
  if (h.note !== null && h.note !== undefined) entry.note = h.note;
  return entry;
}
