/**
 * A cheap structural check run on every event before it is written: the fields the indexes and
 * the claim logic rely on must have the right types, or the event would vanish from index
 * ranges. Full validation with the zod schema belongs to the boundaries (import, CLI input).
 */
import { EVENT_STATUSES, EVENT_TYPES, type QueuedEvent } from "../../../core/event.ts";
import { InvalidEventError } from "../../../errors.ts";

const STATUSES: ReadonlySet<unknown> = new Set(EVENT_STATUSES);
const TYPES: ReadonlySet<unknown> = new Set(EVENT_TYPES);
const isNum = (v: unknown) => typeof v === "number" && Number.isFinite(v);
const optNum = (v: unknown) => v === undefined || isNum(v);

function problem(e: QueuedEvent): string | null {
  if (typeof e !== "object" || e === null) return "not an object";
  if (typeof e.id !== "string" || e.id.length === 0) return "id: expected a non-empty string";
  if (!TYPES.has(e.type)) return `type: expected add|remove|update, got ${JSON.stringify(e.type)}`;
  if (typeof e.entity !== "string" || !e.entity) return "entity: expected a non-empty string";
  if (typeof e.entityId !== "string" || !e.entityId) return "entityId: expected a non-empty string";
  if (typeof e.payload !== "object" || e.payload === null || Array.isArray(e.payload)) return "payload: expected an object";
  if (!isNum(e.timestamp)) return "timestamp: expected a finite number (epoch ms)";
  if (!STATUSES.has(e.status)) return `status: expected one of ${EVENT_STATUSES.join("|")}, got ${JSON.stringify(e.status)}`;
  if (!Number.isInteger(e.retryCount) || e.retryCount < 0) return "retryCount: expected an integer >= 0";
  if (!optNum(e.nextAttemptAt)) return "nextAttemptAt: expected a finite number";
  if (!optNum(e.leaseUntil)) return "leaseUntil: expected a finite number";
  if (!optNum(e.seq)) return "seq: expected a number";
  if (e.clientId !== undefined && typeof e.clientId !== "string") return "clientId: expected a string";
  return null;
}

/** Throws InvalidEventError naming the event when it cannot be stored. */
export function assertStorable(e: QueuedEvent, where: string): void {
  const p = problem(e);
  if (p) throw new InvalidEventError(`${where}${typeof e?.id === "string" ? ` (id ${e.id})` : ""}`, p);
}
