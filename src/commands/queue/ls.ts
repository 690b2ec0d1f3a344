/**
 * `mudsync queue ls`: one page of events from the local store or, with `--queue postgres://…`, the
 * shared Postgres queue (paged by index through the reader's `list`, never loading the whole
 * queue), or with `--file` from an export read directly.
 */
import { EVENT_STATUSES, type EventStatus, type QueuedEvent, rowKey } from "../../core/event.ts";
import { UsageError } from "../../errors.ts";
import type { CommandContext } from "../shared/context.ts";
import { formatAge, table } from "../shared/output.ts";
import { listFilePage } from "./file-page.ts";
import { withQueueReader } from "./open-reader.ts";
import { parseOrder, parseSince, parseStatuses } from "./parse-flags.ts";

export interface LsOptions {
  status?: string;
  entity?: string;
  since?: string;
  limit?: number;
  after?: string;
  order?: string;
  file?: string;
  /** postgres://… URL of a shared queue, read instead of the local store */
  queue?: string;
}

export interface LsResult {
  counts: Record<EventStatus, number>;
  events: QueuedEvent[];
  next: string | null;
  /** when the page was read (age column is relative to it) */
  now: number;
  source: string;
}

export const MAX_LIMIT = 10_000;

export async function queueLs(opts: LsOptions, ctx: CommandContext, now = Date.now()): Promise<LsResult> {
  const limit = opts.limit ?? 50;
  if (limit < 1 || limit > MAX_LIMIT) throw new UsageError(`--limit expects an integer from 1 to ${MAX_LIMIT}; got ${limit}`);
  const statuses = parseStatuses(opts.status);
  const query = {
    limit,
    order: parseOrder(opts.order),
    ...(statuses ? { statuses } : {}),
    ...(opts.entity !== undefined ? { entity: opts.entity } : {}),
    ...(opts.since !== undefined ? { since: parseSince(opts.since, now) } : {}),
    ...(opts.after !== undefined ? { after: opts.after } : {}),
  };
  if (opts.file) {
    if (opts.queue !== undefined) throw new UsageError("queue ls reads either --file or --queue, not both");
    const page = await listFilePage(opts.file, query);
    return { ...page, now, source: opts.file };
  }
  return withQueueReader(ctx, opts.queue, "queue ls", async (store, source) => {
    const [counts, page] = await Promise.all([store.counts(), store.list(query)]);
    return { counts: { ...zeroCounts(), ...counts }, events: page.events, next: page.next, now, source };
  });
}

function zeroCounts(): Record<EventStatus, number> {
  return Object.fromEntries(EVENT_STATUSES.map((s) => [s, 0])) as Record<EventStatus, number>;
}

export function renderLs(r: LsResult): string {
  const summary = EVENT_STATUSES.filter((s) => r.counts[s] > 0)
    .map((s) => `${s} ${r.counts[s]}`)
    .join(", ");
  const lines = [`${r.source}: ${summary || "empty"}`];
  if (r.events.length === 0) {
    lines.push("no events match");
  } else {
    lines.push(
      table(
        ["ID", "STATUS", "ROW", "TYPE", "AGE", "RETRIES", "LAST ERROR"],
        r.events.map((e) => [
          e.id,
          e.status,
          rowKey(e),
          e.type,
          formatAge(r.now - e.timestamp),
          String(e.retryCount),
          e.lastError ?? "",
        ]),
      ),
    );
  }
  if (r.next) lines.push(`more: --after ${r.next}`);
  return lines.join("\n");
}

/** What `--json` prints: exactly { counts, events, next }. */
export function lsJson(r: LsResult): Pick<LsResult, "counts" | "events" | "next"> {
  return { counts: r.counts, events: r.events, next: r.next };
}
