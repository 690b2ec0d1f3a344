/**
 * `mudsync audit ls`: the server's audit log (the `audit_log` view over `audit_records`) read
 * through the sink, filtered by event, row and time. Every decision apply_batch made, conflicts
 * parked and resolved (with who resolved them), and replays (with who asked) are there.
 */
import type { AuditEntry } from "../../core/ports.ts";
import { UsageError } from "../../errors.ts";
import type { CommandContext } from "../shared/context.ts";
import { openSinkFor } from "../shared/sink-setup.ts";
import { table } from "../shared/output.ts";
import { parseSince } from "../queue/parse-flags.ts";

export interface AuditLsOptions {
  event?: string;
  row?: string;
  since?: string;
  limit: number;
  order: "newest" | "oldest";
}

export interface AuditLsResult {
  entries: AuditEntry[];
}

/** Most entries one call lists. */
const MAX_LIMIT = 100_000;

/** `entity:id` (the id may hold colons itself). */
export function parseRow(value: string): { entity: string; id: string } {
  const at = value.indexOf(":");
  if (at <= 0 || at === value.length - 1) throw new UsageError(`--row "${value}": expected ENTITY:ID, e.g. well:w-17`);
  return { entity: value.slice(0, at), id: value.slice(at + 1) };
}

export async function auditLs(opts: AuditLsOptions, ctx: CommandContext): Promise<AuditLsResult> {
  if (opts.limit > MAX_LIMIT) throw new UsageError(`--limit ${opts.limit}: at most ${MAX_LIMIT}`);
  if (opts.event !== undefined && (opts.event === "" || opts.event.length > 200)) throw new UsageError("--event: expected an event id of 1 to 200 characters");
  const row = opts.row === undefined ? undefined : parseRow(opts.row);
  const since = opts.since === undefined ? undefined : parseSince(opts.since, Date.now());
  const sink = await openSinkFor(ctx);
  try {
    if (!sink.listAudit) throw new UsageError(`the ${sink.name} sink does not read the audit log; use --db postgres://… or the embedded database`);
    const entries = await sink.listAudit({
      ...(opts.event !== undefined ? { eventId: opts.event } : {}),
      ...(row ? { row } : {}),
      ...(since !== undefined ? { since } : {}),
      limit: opts.limit,
      order: opts.order === "oldest" ? "asc" : "desc",
    });
    return { entries };
  } finally {
    await sink.close();
  }
}

export function renderAuditLs(r: AuditLsResult): string {
  if (r.entries.length === 0) return "no audit entries match";
  return table(
    ["at", "decision", "event", "row", "version", "actor", "reason"],
    r.entries.map((e) => [
      e.at,
      e.decision,
      e.eventId ?? "-",
      e.entity !== null ? `${e.entity}:${e.entityId ?? "?"}` : "-",
      e.version === null ? "-" : `v${e.version}`,
      e.actor ?? "-",
      e.reason ?? "",
    ]),
  );
}
