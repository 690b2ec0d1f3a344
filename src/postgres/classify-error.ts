/**
 * Classifies a server or connection error once, at the sink boundary: retryable (the core backs
 * off and tries again) or permanent (the batch will never succeed as it is).
 */
import { PermanentSinkError, RetryableSinkError, SinkError, SinkSetupError, SinkUnreachableError } from "../errors.ts";

const RETRYABLE_NODE_CODES = new Set([
  "ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND",
]);

/**
 * SQLSTATEs worth retrying: serialization/deadlock, shutdown, too many connections, the shared
 * lock table full while other batches hold their row locks (53200), timeouts.
 */
const RETRYABLE_SQLSTATES = new Set(["40001", "40P01", "57P01", "57P02", "57P03", "53300", "53200", "57014", "55P03"]);

const RETRYABLE_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /query read timeout/i,
  /connection error/i,
  /not queryable/i,
  /socket hang up/i,
];

/**
 * Failures to reach the server at all, before any batch is sent: refused, unreachable, not
 * resolved, connect timeout; SQLSTATE class 08 "unable to establish" / "rejected", the server
 * starting up (57P03), no connection slot left (53300). A connection that breaks during a query
 * (ECONNRESET, "connection terminated") is not among them: the batch itself may be the cause.
 */
const UNREACHABLE_NODE_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND"]);
const UNREACHABLE_SQLSTATES = new Set(["08001", "08004", "57P03", "53300"]);
const UNREACHABLE_MESSAGES = [/timeout exceeded when trying to connect/i];

export function isUnreachable(code: string | undefined, message: string): boolean {
  if (code && (UNREACHABLE_NODE_CODES.has(code) || UNREACHABLE_SQLSTATES.has(code))) return true;
  return UNREACHABLE_MESSAGES.some((re) => re.test(message));
}

/** SQLSTATEs that say the server is not set up for this client: no event is at fault. */
const SETUP_SQLSTATES = new Set(["28000", "28P01", "3D000"]);

export function isRetryable(code: string | undefined, message: string): boolean {
  if (code && RETRYABLE_NODE_CODES.has(code)) return true;
  if (code && /^[0-9A-Z]{5}$/.test(code)) return code.startsWith("08") || RETRYABLE_SQLSTATES.has(code);
  return RETRYABLE_MESSAGES.some((re) => re.test(message));
}

/**
 * Wraps any error from a SQL client into a RetryableSinkError or PermanentSinkError, a
 * SinkUnreachableError when the server cannot be reached, or a SinkSetupError when it refuses
 * the login or lacks the database.
 */
export function classifySinkError(err: unknown, context: string): SinkError | SinkSetupError {
  if (err instanceof SinkError || err instanceof SinkSetupError) return err;
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : undefined;
  const message = typeof e?.message === "string" && e.message ? e.message : String(err);
  const detail = `${context}: ${message.split("\n")[0]}${code ? ` (${/^[0-9A-Z]{5}$/.test(code) ? "SQLSTATE " : ""}${code})` : ""}`;
  if (code && SETUP_SQLSTATES.has(code)) return new SinkSetupError(detail, code, { cause: err });
  if (isUnreachable(code, message)) return new SinkUnreachableError(detail, code, { cause: err });
  return isRetryable(code, message)
    ? new RetryableSinkError(detail, code, { cause: err })
    : new PermanentSinkError(detail, code, { cause: err });
}
