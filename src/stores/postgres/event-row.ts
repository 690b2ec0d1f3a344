/**
 * How an event is laid out in `<schema>.events`: the lease fields (status, nextAttemptAt,
 * leaseUntil, leaseOwner, attempts) live in plain columns that claim and settle write directly,
 * everything else stays in the `event` jsonb as given (unknown fields kept). The event's history is
 * a jsonb array in the same row (`history`, newest HISTORY_MAX entries), appended to by the same
 * UPDATE that changes the status, so a claim or settle writes one row per event and nothing else.
 * Holds the SQL that splits an event into the row and the code that puts the row back together.
 */
import type { EventStatus, QueuedEvent } from "../../core/event.ts";
import type { HistoryEntry } from "../../core/ports.ts";

/** History entries kept per event (the oldest are dropped), as the local store does. */
export const HISTORY_MAX = 100;

/** Event fields kept in their own columns instead of in `event`. */
export const LEASE_FIELDS = ["status", "nextAttemptAt", "leaseUntil", "leaseOwner", "attempts"] as const;
export type LeaseField = (typeof LEASE_FIELDS)[number];

/** Column of each lease field. */
export const LEASE_COLUMNS: Record<LeaseField, string> = {
  status: "status",
  nextAttemptAt: "next_attempt_at",
  leaseUntil: "lease_until",
  leaseOwner: "lease_owner",
  attempts: "attempts",
};

/** The columns an INSERT writes, in the order of `insertValues`. */
export const INSERT_COLUMNS =
  "id, event, status, next_attempt_at, lease_until, lease_owner, attempts, entity, entity_id, client_id, seq, ts";

/** The values of INSERT_COLUMNS taken from one validated event `j` (jsonb). */
export function insertValues(j: string): string {
  return `${j}->>'id', ${j} - '{status,nextAttemptAt,leaseUntil,leaseOwner,attempts}'::text[], ${j}->>'status',
          (${j}->'nextAttemptAt')::double precision, (${j}->'leaseUntil')::double precision, ${j}->>'leaseOwner',
          (${j}->'attempts')::integer, ${j}->>'entity', ${j}->>'entityId', coalesce(${j}->>'clientId', ''),
          coalesce((${j}->'seq')::bigint, -1), (${j}->'timestamp')::double precision`;
}

/** The columns to read to rebuild an event (`a` is the table alias). */
export function eventColumns(a: string): string {
  return `${a}.event, ${a}.status, ${a}.next_attempt_at, ${a}.lease_until, ${a}.lease_owner, ${a}.attempts`;
}

export interface EventRow {
  event: Record<string, unknown>;
  status: EventStatus;
  next_attempt_at: number | null;
  lease_until: number | null;
  lease_owner: string | null;
  attempts: number | null;
}

/** The event as stored: its jsonb with the lease fields that are set put back. */
export function rowToEvent(r: EventRow): QueuedEvent {
  const e = r.event as QueuedEvent;
  e.status = r.status;
  if (r.next_attempt_at !== null) e.nextAttemptAt = r.next_attempt_at;
  if (r.lease_until !== null) e.leaseUntil = r.lease_until;
  if (r.lease_owner !== null) e.leaseOwner = r.lease_owner;
  if (r.attempts !== null) e.attempts = r.attempts;
  return e;
}

/** SQL expressions of one history entry. */
export interface HistorySql {
  at: string;
  from: string;
  to: string;
  note: string;
}

/** `history` with one entry appended, dropping the oldest beyond HISTORY_MAX. */
export function appendHistory(history: string, e: HistorySql): string {
  const item = `jsonb_build_array(jsonb_build_object('at', ${e.at}, 'from', ${e.from}, 'to', ${e.to}, 'note', ${e.note}))`;
  return `CASE WHEN jsonb_array_length(${history}) >= ${HISTORY_MAX} THEN (${history} - 0) || ${item} ELSE ${history} || ${item} END`;
}

/** One element of the `history` column. */
export interface StoredHistoryEntry {
  at: number;
  from: EventStatus | null;
  to: EventStatus;
  note: string | null;
}

/** One stored history entry as the port returns it. */
export function historyEntry(eventId: string, h: StoredHistoryEntry): HistoryEntry {
  const entry: HistoryEntry = { eventId, at: h.at, to: h.to };
  if (h.from !== null) entry.from = h.from;
  if (h.note !== null) entry.note = h.note;
  return entry;
}
