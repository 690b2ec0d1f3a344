/**
 * `mudsync queue stats`: what a support engineer asks first about a stuck queue, computed with a
 * batched scan of the local store or the shared Postgres queue (`--queue`), or a stream of an
 * export with `--file`, never loading all events.
 */
import { EVENT_STATUSES, type QueuedEvent } from "../../core/event.ts";
import { DexieExportReader } from "../../io/dexie-export/reader.ts";
import type { CommandContext } from "../shared/context.ts";
import { formatAge, table } from "../shared/output.ts";
import { UsageError } from "../../errors.ts";
import { withQueueReader } from "./open-reader.ts";
import { type QueueStats, StatsAccumulator } from "./stats-accumulator.ts";

export interface StatsResult extends QueueStats {
  source: string;
}

export async function queueStats(opts: { file?: string; queue?: string }, ctx: CommandContext, now = Date.now()): Promise<StatsResult> {
  const acc = new StatsAccumulator(now);
  if (opts.file) {
    if (opts.queue !== undefined) throw new UsageError("queue stats reads either --file or --queue, not both");
    const reader = new DexieExportReader(opts.file);
    for await (const item of reader.rows()) {
      if (item.type === "row" && item.table === "events") acc.add(item.value as QueuedEvent);
    }
    return { source: opts.file, ...acc.result() };
  }
  return withQueueReader(ctx, opts.queue, "queue stats", async (store, source) => {
    for await (const batch of store.scan(1000)) for (const e of batch) acc.add(e);
    return { source, ...acc.result() };
  });
}

export function renderStats(s: StatsResult): string {
  const lines = [`${s.source}: ${s.total} events`];
  lines.push(
    `by status: ${EVENT_STATUSES.map((st) => `${st} ${s.byStatus[st]}`).join(", ")}`,
    `by entity: ${Object.entries(s.byEntity).map(([k, v]) => `${k} ${v}`).join(", ") || "-"}`,
    `oldest pending: ${s.oldestPending ? `${s.oldestPending.id} (${formatAge(s.oldestPending.ageMs)} old)` : "-"}`,
  );
  const st = s.stuckProcessing;
  lines.push(`stuck in processing: ${st.count} (${st.noLease} without a lease, ${st.leaseExpired} with an expired lease)`);
  if (st.sample.length > 0) {
    lines.push(table(["ID", "QUEUED", "LEASE"], st.sample.map((x) => [
      x.id,
      new Date(x.timestamp).toISOString(),
      x.leaseUntil === null ? "none" : `expired ${new Date(x.leaseUntil).toISOString()}`,
    ])));
  }
  const retries = Object.entries(s.failed.retries).map(([k, v]) => `${k}x: ${v}`).join(", ");
  lines.push(`failed: ${s.failed.count}${retries ? ` (retries ${retries})` : ""}`);
  const p = s.payloadBytes;
  lines.push(`payload bytes: p50 ${p.p50}, p90 ${p.p90}, p99 ${p.p99}, max ${p.max}`);
  return lines.join("\n");
}
