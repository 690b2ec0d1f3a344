/**
 * PostgREST's translation of PostgreSQL errors into HTTP statuses and `{code, details, hint,
 * message}` bodies, as its documentation tables it (docs.postgrest.org "Errors" / Supabase
 * "Error Codes"): 08* 503, 09* 500, 0L* and 0P* 403, 23503/23505 409, 25006 405, 25* 500, 28* 403,
 * 2D*, 38*, 39*, 3B* 500, 40* 500, 53400 500, 53* 503, 54*..58* 500, F0* and HV* 500, P0001 400, P0* 500,
 * XX* 500, 42883/42P01 404, 42P17 500, 42501 403 when authenticated else 401, anything else 400.
 */
export interface PostgrestErrorBody {
  code: string;
  details: string | null;
  hint: string | null;
  message: string;
}

const EXACT: Record<string, number> = {
  "23503": 409,
  "23505": 409,
  "25006": 405,
  "53400": 500,
  P0001: 400,
  "42883": 404,
  "42P01": 404,
  "42P17": 500,
};

const PREFIX: [string, number][] = [
  ["08", 503], ["09", 500], ["0L", 403], ["0P", 403], ["25", 500], ["28", 403], ["2D", 500],
  ["38", 500], ["39", 500], ["3B", 500], ["40", 500], ["53", 503], ["54", 500], ["55", 500],
  ["57", 500], ["58", 500], ["F0", 500], ["HV", 500], ["P0", 500], ["XX", 500],
];

export function httpStatusForSqlstate(code: string, authenticated: boolean): number {
  if (code === "42501") return authenticated ? 403 : 401;
  const exact = EXACT[code];
  if (exact !== undefined) return exact;
  for (const [prefix, status] of PREFIX) if (code.startsWith(prefix)) return status;
  return 400;
}

/** A thrown Postgres error (pg or PGlite) as PostgREST's body; non-database errors become 500s. */
export function postgresErrorResponse(err: unknown, authenticated: boolean): { status: number; body: PostgrestErrorBody } {
  const e = err as { code?: unknown; message?: unknown; detail?: unknown; hint?: unknown };
  if (typeof e?.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) {
    return {
      status: httpStatusForSqlstate(e.code, authenticated),
      body: {
        code: e.code,
        message: String(e.message ?? ""),
        details: typeof e.detail === "string" ? e.detail : null,
        hint: typeof e.hint === "string" ? e.hint : null,
      },
    };
  }
  return {
    status: 503,
    body: { code: "PGRST001", message: `Database client error: ${String(e?.message ?? err)}`, details: null, hint: null },
  };
}
