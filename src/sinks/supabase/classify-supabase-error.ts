/**
 * Turns a failed PostgREST call (HTTP status + `{code, details, hint, message}` body, or a network
 * failure reported by postgrest-js as status 0) into a typed SinkError, once, in the sink.
 * Retryable: network errors, timeouts, HTTP 5xx and 429, and the SQLSTATEs that mean "try again"
 * (serialization failure, deadlock, shutdown, connection loss) whatever status carries them.
 * Everything else (4xx: constraint and data errors, RLS 42501, missing function) is permanent.
 */
import { PermanentSinkError, RetryableSinkError, type SinkError, SinkSetupError, SinkUnreachableError } from "../../errors.ts";
import { isRetryable } from "../../postgres/classify-error.ts";

export interface PostgrestFailure {
  status: number;
  error: { code?: string | null; message?: string | null; details?: string | null; hint?: string | null } | null;
  /** the call was aborted by our own timeout */
  timedOut?: boolean;
}

/** PostgREST's own "cannot reach the database" codes (PGRST000-003). */
const PGRST_UNAVAILABLE = /^PGRST00[0-3]$/;

/** The SQLSTATE list is the pg sink's, so both sinks retry the same server errors. */
export function isRetryableCode(code: string | undefined): boolean {
  if (!code) return false;
  return PGRST_UNAVAILABLE.test(code) || (/^[0-9A-Z]{5}$/.test(code) && isRetryable(code, ""));
}

/**
 * Answers that say the project is not set up for this client — the function or schema is not
 * there or not exposed (PGRST202, PGRST106, 42883, 3F000), the token is refused (PGRST301, HTTP
 * 401): no event is at fault, so the engine stops instead of failing events.
 */
const SETUP_CODES = new Set(["PGRST202", "PGRST106", "PGRST301", "42883", "3F000"]);

export function classifySupabaseError(what: string, failure: PostgrestFailure): SinkError | SinkSetupError {
  const code = failure.error?.code || undefined;
  const message = oneLine(failure.error?.message) || "no message";
  if (failure.timedOut) {
    return new RetryableSinkError(`${what}: timed out waiting for the Supabase REST API`, "ETIMEDOUT");
  }
  if (failure.status === 0) {
    return new SinkUnreachableError(`${what}: Supabase REST API unreachable (${message})`, code ?? "ECONNREFUSED");
  }
  const where = `${what}: HTTP ${failure.status}${code ? ` ${code}` : ""}: ${message}`;
  const detail = oneLine(failure.error?.details);
  const text = detail ? `${where} (${detail})` : where;
  if ((code && SETUP_CODES.has(code)) || failure.status === 401) {
    return new SinkSetupError(`${text}; check that \`mudsync db migrate\` ran, the schema is exposed and the key/JWT are the project's`, code ?? "HTTP401");
  }
  if (failure.status >= 500 || failure.status === 429 || isRetryableCode(code)) {
    return new RetryableSinkError(text, code ?? `HTTP${failure.status}`);
  }
  return new PermanentSinkError(text, code ?? `HTTP${failure.status}`);
}

function oneLine(s: string | null | undefined): string {
  return (s ?? "").replace(/\s+/g, " ").trim().slice(0, 300);
}
