/**
 * A new event as a producer sends it (flags, NDJSON, the daemon's /v1/events): the fields it may
 * leave out filled in, then validated as a whole queued event.
 */
import { EVENT_SHAPE_HINT, describeIssues, newEventSchema, type QueuedEvent, queuedEventSchema } from "./event.ts";
import { describeValueProblem, MAX_PAYLOAD_BYTES, payloadSizeProblem, valueProblem } from "./value-limits.ts";
import { InvalidEventError } from "../errors.ts";

/**
 * Fills in what a producer may leave out and validates the result. Values nested too deep,
 * strings PostgreSQL cannot store and payloads over the size limit are refused first
 * (value-limits.ts), naming their path.
 */
export function completeEvent(value: unknown, where: string, now: number, maxPayloadBytes = MAX_PAYLOAD_BYTES): QueuedEvent {
  const bad = valueProblem(value);
  if (bad) throw new InvalidEventError(where, describeValueProblem(bad));
  const big = payloadSizeProblem((value as { payload?: unknown } | null)?.payload, maxPayloadBytes);
  if (big) throw new InvalidEventError(`${where}.payload`, big);
  const draft = newEventSchema.safeParse(value);
  if (!draft.success) throw new InvalidEventError(where, `${describeIssues(draft.error)}; ${EVENT_SHAPE_HINT}`);
  const event = {
    ...draft.data,
    id: draft.data.id ?? globalThis.crypto.randomUUID(),
    timestamp: draft.data.timestamp ?? now,
    status: draft.data.status ?? "pending",
    retryCount: draft.data.retryCount ?? 0,
  };
  const full = queuedEventSchema.safeParse(event);
  if (!full.success) throw new InvalidEventError(where, `${describeIssues(full.error)}; ${EVENT_SHAPE_HINT}`);
  return event as QueuedEvent;
}

