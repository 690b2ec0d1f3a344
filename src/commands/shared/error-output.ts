/**
 * How the top-level handler reports an error: one `mudsync: …` line for people, or with --json one
 * JSON object on stderr for scripts, `{"error": {"code", "exit", "message", …}}` plus the fields
 * the error class carries (file, where, eventId, dir, …). `code` is mudsync's name for the kind
 * of error (`invalid-dump`, `sink-unreachable`, `usage`, `unexpected`); a code the error itself
 * carries (a SQLSTATE, a system error code) is `causeCode`.
 */
import { CommanderError } from "commander";
import { ExitCode, MudsyncError } from "../../errors.ts";

export interface ErrorReport {
  code: string;
  exit: number;
  message: string;
  [field: string]: unknown;
}

/** Properties every error has, reported as `code`, `exit` and `message` or not at all. */
const NOT_FIELDS = new Set(["name", "message", "stack", "cause", "exitCode"]);

/** "SinkUnreachableError" -> "sink-unreachable" */
function kindOf(name: string): string {
  const base = name.replace(/Error$/, "") || "mudsync";
  return base.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

/** The error as scripts read it; undefined for commander's help and version exits (not errors). */
export function errorReport(err: unknown): ErrorReport | undefined {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) return undefined;
    const message =
      err.code === "commander.help"
        ? "a subcommand is required (run with --help for the list)"
        : err.message.replace(/^error: /, "");
    return { code: "usage", exit: ExitCode.BadInput, message, causeCode: err.code };
  }
  if (err instanceof MudsyncError) {
    const report: ErrorReport = { code: kindOf(err.name), exit: err.exitCode, message: err.message };
    for (const [key, value] of Object.entries(err)) {
      if (NOT_FIELDS.has(key) || value === undefined) continue;
      report[key === "code" ? "causeCode" : key] = value;
    }
    return report;
  }
  const e = err instanceof Error ? err : undefined;
  return {
    code: "unexpected",
    exit: ExitCode.Failure,
    message: e ? e.message : String(err),
    ...(e?.stack ? { stack: e.stack } : {}),
  };
}

/** The text written to stderr for the error (empty when commander has already said it). */
export function errorText(err: unknown, json: boolean): string {
  const report = errorReport(err);
  if (!report) return "";
  if (json) return `${JSON.stringify({ error: report })}\n`;
  if (err instanceof CommanderError) return ""; // commander printed the usage error and the hint
  if (err instanceof MudsyncError) return `mudsync: ${err.message}\n`;
  return `mudsync: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`;
}

/** Whether --json was given: read from argv, since a usage error can stop parsing before it. */
export function jsonRequested(argv: readonly string[]): boolean {
  for (const arg of argv.slice(2)) {
    if (arg === "--") return false;
    if (arg === "--json") return true;
  }
  return false;
}
