/**
 * `mudsync queue show ID`: the whole event with its payload pretty-printed and its status history
 * when the store recorded one, from the local store or the shared Postgres queue (`--queue`). An
 * unknown id is bad input (exit 2).
 */
import { inFieldOrder, type QueuedEvent, rowKey } from "../../core/event.ts";
import type { HistoryEntry } from "../../core/ports.ts";
import { EventNotFoundError } from "../../errors.ts";
import type { CommandContext } from "../shared/context.ts";
import { formatAge } from "../shared/output.ts";
import { withQueueReader } from "./open-reader.ts";

export interface ShowResult {
  event: QueuedEvent;
  history: HistoryEntry[];
  now: number;
}

export async function queueShow(opts: { id: string; queue?: string }, ctx: CommandContext, now = Date.now()): Promise<ShowResult> {
  return withQueueReader(ctx, opts.queue, "queue show", async (store) => {
    const event = await store.get(opts.id);
    if (!event) throw new EventNotFoundError(opts.id);
    const history = await store.history(opts.id);
    return { event, history, now };
  });
}

const TIME_FIELDS = new Set(["timestamp", "nextAttemptAt", "leaseUntil", "deadAt", "completedAt"]);

export function renderShow(r: ShowResult): string {
  // fields in one fixed order, whatever order the store kept them in
  const e = inFieldOrder(r.event);
  const lines = [`event ${e.id}`, `  row:        ${rowKey(e)}`, `  type:       ${e.type}`, `  status:     ${e.status}`];
  for (const [key, value] of Object.entries(e)) {
    if (["id", "type", "status", "entity", "entityId", "payload"].includes(key)) continue;
    let text = typeof value === "string" ? value : JSON.stringify(value);
    if (TIME_FIELDS.has(key) && typeof value === "number") {
      text = `${new Date(value).toISOString()} (${formatWhen(r.now - value)})`;
    }
    lines.push(`  ${`${key}:`.padEnd(11)} ${text}`);
  }
  lines.push("  payload:");
  lines.push(...JSON.stringify(e.payload, null, 2).split("\n").map((l) => `    ${l}`));
  if (r.history.length > 0) {
    lines.push("  history:");
    for (const h of r.history) {
      lines.push(`    ${new Date(h.at).toISOString()}  ${h.from ?? "-"} -> ${h.to}${h.note ? `  ${h.note}` : ""}`);
    }
  } else {
    lines.push("  history: none recorded");
  }
  return lines.join("\n");
}

function formatWhen(deltaMs: number): string {
  return deltaMs >= 0 ? `${formatAge(deltaMs)} ago` : `in ${formatAge(-deltaMs)}`;
}
