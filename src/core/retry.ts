/**
 * Retry policy: capped exponential backoff with jitter, a maximum number of attempts, and the
 * classification of a failure into "retry later" or "dead". Everything here is a pure function of
 * its inputs: the resulting `nextAttemptAt` is persisted on the event (no in-memory timers), and a
 * failed event is claimed again once it is due.
 */
import { MAX_ERROR_LENGTH, type QueuedEvent } from "./event.ts";
import { SinkError } from "../errors.ts";

export interface RetryPolicy {
  /** delay after the first failure (ms) */
  baseMs: number;
  /** cap on any delay (ms) */
  maxMs: number;
  /**
   * Fraction of the delay that is randomised, 0..1: the delay is drawn from
   * [d × (1 − jitter), d], so it never exceeds the cap and never collapses to zero.
   */
  jitter: number;
  /** after this many failed attempts the event is dead */
  maxAttempts: number;
  /** source of randomness in [0, 1); injectable for tests */
  random?: () => number;
}

/** 1 s → 2 s → 4 s … capped at 30 s, ±20 % jitter, dead after 10 attempts. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  baseMs: 1000,
  maxMs: 30_000,
  jitter: 0.2,
  maxAttempts: 10,
});

/**
 * Waiting out a server that cannot be reached (the CLI's `--wait`, the daemon's passes and change
 * feed): 1 s → 2 s → 4 s … capped at 30 s, without jitter, for backoffDelay.
 */
export const OUTAGE_BACKOFF: Readonly<Pick<RetryPolicy, "baseMs" | "maxMs" | "jitter">> = Object.freeze({
  baseMs: 1000,
  maxMs: 30_000,
  jitter: 0,
});

/**
 * Delay before the next try after `attempt` failed attempts (attempt 1 = the first failure):
 * min(maxMs, baseMs × 2^(attempt−1)), then jittered downwards. Integer milliseconds.
 */
export function backoffDelay(
  attempt: number,
  policy: Pick<RetryPolicy, "baseMs" | "maxMs" | "jitter" | "random"> = DEFAULT_RETRY_POLICY,
): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`backoffDelay: attempt must be an integer >= 1, got ${attempt}`);
  }
  if (!(policy.jitter >= 0 && policy.jitter <= 1)) {
    throw new RangeError(`backoffDelay: jitter must be between 0 and 1, got ${policy.jitter}`);
  }
  // 2^(attempt-1) overflows to Infinity for huge attempts; min() still caps it.
  const capped = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  const r = (policy.random ?? Math.random)();
  return Math.round(capped * (1 - policy.jitter * r));
}

/** Epoch ms at which the event becomes due again. */
export function nextAttemptAt(now: number, attempt: number, policy: Partial<RetryPolicy> = {}): number {
  return now + backoffDelay(attempt, { ...DEFAULT_RETRY_POLICY, ...policy });
}

export type FailureClass = "retry" | "dead";

/**
 * What to do after a failed attempt. A `SinkError` that is not retryable (permanent server error,
 * e.g. a constraint or RLS violation) is dead at once; so is anything once `attempts` has reached
 * `maxAttempts`. Errors that are not SinkErrors (connection dropped before the sink could classify
 * it, timeouts raised by the engine) count as retryable, bounded by `maxAttempts`.
 */
export function classifyFailure(
  error: unknown,
  attempts: number,
  policy: Pick<RetryPolicy, "maxAttempts"> = DEFAULT_RETRY_POLICY,
): FailureClass {
  if (error instanceof SinkError && !error.retryable) return "dead";
  return attempts >= policy.maxAttempts ? "dead" : "retry";
}

/**
 * The persisted change for an event whose attempt failed: `failed` with the next due time, or
 * `dead` with its last error. `attempts` counts failed tries (browser exports carry only
 * `retryCount`, which seeds it); `retryCount` is kept equal for the browser's own readers.
 */
export function failureChanges(
  event: Pick<QueuedEvent, "attempts" | "retryCount">,
  error: unknown,
  now: number,
  policy: Partial<RetryPolicy> = {},
): Partial<QueuedEvent> {
  const full = { ...DEFAULT_RETRY_POLICY, ...policy };
  const attempts = Math.max(event.attempts ?? 0, event.retryCount) + 1;
  const lastError = describeError(error);
  if (classifyFailure(error, attempts, full) === "dead") {
    return {
      status: "dead",
      attempts,
      retryCount: attempts,
      lastError,
      deadAt: now,
      leaseUntil: undefined,
      leaseOwner: undefined,
    };
  }
  return {
    status: "failed",
    attempts,
    retryCount: attempts,
    lastError,
    nextAttemptAt: now + backoffDelay(attempts, full),
    leaseUntil: undefined,
    leaseOwner: undefined,
  };
}

/** The error as one line for `lastError`, cut to the length an event may carry. */
function describeError(error: unknown): string {
  const text = error instanceof SinkError && error.code ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}
