/**
 * The queued event: the browser app's `QueuedEvent` plus the optional fields a real queue needs.
 * Every added field is optional so that an export made by the browser app loads unchanged, and
 * unknown fields are kept (loose object) so export -> import round-trips byte for byte.
 */
import { z } from "zod";

export const EVENT_TYPES = ["add", "remove", "update"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** `dead` is new in mudsync; the browser app only writes the first four. */
export const EVENT_STATUSES = ["pending", "processing", "completed", "failed", "dead"] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** The seed's four entities. Other names are accepted by the queue and resolved by the registry. */
export const BUILTIN_ENTITIES = ["chart_data_source", "well", "polygon", "curve"] as const;

const nonNegInt = z.number().int().nonnegative();

/** Longest `lastError` an event may carry (the engine keeps the start of a longer server message). */
export const MAX_ERROR_LENGTH = 65_536;
const epochMs = z.number().finite().nonnegative();

export const queuedEventSchema = z.looseObject({
  id: z.string().min(1).max(200),
  type: z.enum(EVENT_TYPES),
  entity: z.string().min(1).max(100),
  entityId: z.string().min(1).max(500),
  payload: z.record(z.string(), z.unknown()),
  timestamp: epochMs,
  status: z.enum(EVENT_STATUSES),
  retryCount: nonNegInt,
  // mudsync extensions, all optional
  clientId: z.string().min(1).max(200).optional(),
  seq: nonNegInt.optional(),
  baseVersion: nonNegInt.optional(),
  attempts: nonNegInt.optional(),
  nextAttemptAt: epochMs.optional(),
  leaseUntil: epochMs.optional(),
  leaseOwner: z.string().max(500).optional(),
  lastError: z.string().max(MAX_ERROR_LENGTH).optional(),
  deadAt: epochMs.optional(),
  completedAt: epochMs.optional(),
  /** set when a person moved the event back to pending (replay, retry): applied even if superseded */
  replayedAt: epochMs.optional(),
  /** Last server outcome (applied, duplicate, conflict, rejected) and the version it produced. */
  outcome: z.enum(["applied", "duplicate", "conflict", "rejected", "coalesced"]).optional(),
  appliedVersion: nonNegInt.optional(),
});

export type QueuedEvent = z.infer<typeof queuedEventSchema>;

/** What a producer hands to `enqueue`: id, timestamp, status and retryCount are filled in when absent. */
export const newEventSchema = queuedEventSchema.extend({
  id: queuedEventSchema.shape.id.optional(),
  timestamp: epochMs.optional(),
  status: z.enum(EVENT_STATUSES).optional(),
  retryCount: nonNegInt.optional(),
});
export type NewEvent = z.infer<typeof newEventSchema>;

const FIELD_ORDER: readonly string[] = Object.keys(queuedEventSchema.shape);

/**
 * The event with its fields in the schema's order (the browser app's fields first), then any
 * unknown fields by name: a stable order for people whatever order a store keeps them in (a
 * local store keeps the order they were written in, Postgres jsonb orders keys by length).
 */
export function inFieldOrder(e: QueuedEvent): QueuedEvent {
  const from = e as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of FIELD_ORDER) if (k in from) out[k] = from[k];
  for (const k of Object.keys(from).sort()) if (!(k in out)) out[k] = from[k];
  return out as QueuedEvent;
}

/** The row an event edits: events of one row keep their order everywhere. */
export function rowKey(e: Pick<QueuedEvent, "entity" | "entityId">): string {
  return `${e.entity}:${e.entityId}`;
}

/**
 * Order of edits of one row: the tuple (clientId, seq, timestamp, id), the same order the server's
 * `mudsync.apply_batch` uses. A missing clientId sorts as "", a missing seq as -1.
 */
export type RowOrderFields = Pick<QueuedEvent, "id" | "timestamp" | "clientId" | "seq">;

export function compareRowOrder(a: RowOrderFields, b: RowOrderFields): number {
  const ca = a.clientId ?? "";
  const cb = b.clientId ?? "";
  if (ca !== cb) return ca < cb ? -1 : 1;
  const sa = a.seq ?? -1;
  const sb = b.seq ?? -1;
  if (sa !== sb) return sa - sb;
  if (a.timestamp !== b.timestamp) return a.timestamp - b.timestamp;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Formats zod issues as `path: message` with dot-paths, for one-line errors. */
export function describeIssues(error: z.ZodError, prefix = ""): string {
  return error.issues
    .slice(0, 3)
    .map((i) => {
      const path = [prefix, ...i.path.map(String)].filter(Boolean).join(".");
      return `${path || "(root)"}: ${i.message}`;
    })
    .join("; ");
}

/** Validates one event; returns the parsed event or a one-line reason. */
export function parseEvent(
  value: unknown,
): { ok: true; event: QueuedEvent } | { ok: false; reason: string } {
  const r = queuedEventSchema.safeParse(value);
  return r.success ? { ok: true, event: r.data } : { ok: false, reason: describeIssues(r.error) };
}

export const EVENT_SHAPE_HINT =
  "expected an event {id, type: add|remove|update, entity, entityId, payload: object, timestamp: ms, status: pending|processing|completed|failed|dead, retryCount: int}";

/** The row with changes applied (an undefined value removes the field; the id never changes). */
export function withChanges(row: QueuedEvent, changes: Partial<QueuedEvent>): QueuedEvent {
  // built afresh rather than by `delete`, which would leave a slow dictionary-mode object
  const next: Record<string, unknown> = {};
  const from = row as unknown as Record<string, unknown>;
  const ch = changes as Record<string, unknown>;
  for (const k in from) if (k === "id" || !(k in ch)) next[k] = from[k];
  for (const k in ch) if (k !== "id" && ch[k] !== undefined) next[k] = ch[k];
  return next as unknown as QueuedEvent;
}
