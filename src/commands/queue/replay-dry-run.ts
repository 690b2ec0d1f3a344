/**
 * `queue replay --dry-run`: what the real replay would do, found by doing it and rolling it back.
 * The chosen events are requeued in memory as the replay would requeue them, the store's other
 * due events join them (the real replay drains the whole queue), and the engine the real replay
 * builds (same batch size, coalescing, retry policy and conflict strategies, --strategy included)
 * drains them into the sink inside one transaction that is rolled back. The local store is only
 * read. The report gives each event's outcome and each changed row's fields before and after.
 */
import type { DrainPreview, PreviewEvent, PreviewRow } from "../../core/drain-preview.ts";
import { previewDrain } from "../../core/drain-preview.ts";
import { type QueuedEvent, withChanges } from "../../core/event.ts";
import type { Sink } from "../../core/ports.ts";
import { requeueChange } from "../../core/requeue.ts";
import type { CommandContext } from "../shared/context.ts";
import { createEngine } from "../../config/engine-setup.ts";
import { table } from "../shared/output.ts";
import type { LocalQueueStore } from "./open-store.ts";

export interface ReplayDryRun extends DrainPreview {
  dryRun: true;
  chosen: number;
  /** the conflict strategy of entities without their own (config `strategies`) */
  strategy: string;
  strategies: Record<string, string>;
}

const OPEN_STATUSES = ["pending", "failed", "processing"] as const;
const PAGE = 1000;
/** rows printed in full; --json has all of them */
const MAX_ROWS_SHOWN = 50;

export async function replayDryRun(store: LocalQueueStore, sink: Sink, chosen: QueuedEvent[], ctx: CommandContext): Promise<ReplayDryRun> {
  const now = Date.now();
  const chosenIds = new Set(chosen.map((e) => e.id));
  const events: QueuedEvent[] = chosen.map((e) => withChanges(e, requeueChange(e, "replay", now).changes));
  for await (const e of openEvents(store)) if (!chosenIds.has(e.id)) events.push(e);
  const preview = await previewDrain({
    sink,
    events,
    chosen: chosenIds,
    engine: (queue, tx, hooks) => createEngine({ config: ctx.config, store: queue, sink: tx, hooks }),
    queue: { completedElsewhere: (e) => store.supersededBy(e) },
  });
  return { dryRun: true, chosen: chosen.length, strategy: ctx.config.strategy, strategies: { ...ctx.config.strategies }, ...preview };
}

async function* openEvents(store: LocalQueueStore): AsyncIterable<QueuedEvent> {
  let after: string | undefined;
  do {
    const page = await store.list({ statuses: [...OPEN_STATUSES], limit: PAGE, after, order: "asc" });
    yield* page.events;
    after = page.next ?? undefined;
  } while (after);
}

export function renderReplayDryRun(r: ReplayDryRun): string {
  const mine = r.events.filter((e) => e.chosen);
  const others = r.events.filter((e) => !e.chosen);
  const overrides = Object.entries(r.strategies).map(([entity, s]) => `${entity}: ${s}`);
  const lines = [
    `dry run of replaying ${r.chosen} events, strategy ${r.strategy}${overrides.length ? ` (${overrides.join(", ")})` : ""}; ` +
      "rolled back, nothing was changed",
    table(["event", "row", "outcome"], mine.map((e) => [e.id, `${e.entity}:${e.entityId}`, outcomeText(e)]), 120),
  ];
  if (others.length > 0) {
    lines.push(`also drained with them (already due in the store): ${others.length} events, ${countOutcomes(others)}`);
  }
  const changed = r.rows.slice(0, MAX_ROWS_SHOWN);
  for (const row of changed) lines.push("", rowText(row));
  if (r.rows.length > changed.length) lines.push("", `… ${r.rows.length - changed.length} more rows (all of them with --json)`);
  return lines.join("\n");
}

function outcomeText(e: PreviewEvent): string {
  const v = e.version !== undefined ? ` as v${e.version}` : "";
  const c = e.conflict;
  const conflict = c ? `${c.times > 1 ? `${c.times} conflicts` : "conflict"}, ${c.strategy}` : "";
  switch (e.outcome) {
    case "applied":
      return `applied${v}`;
    case "re-applied":
      return `re-applied${v} after ${conflict}`;
    case "coalesced":
      return "applied, coalesced into another edit of the same row";
    case "dropped":
      return `dropped (${conflict}): ${c?.reason ?? ""}`;
    case "parked":
      return `parked for a person (${conflict}): see \`mudsync conflicts ls\` after the real replay`;
    case "duplicate":
      return "duplicate (already applied; changes nothing)";
    case "failed":
      return `failed, retried later: ${e.error ?? ""}`;
    case "pending":
      return "still pending (its row is blocked by an earlier event)";
    case "dead":
      return `dead: ${e.error ?? ""}`;
    default: // rejected, superseded: the error starts with it
      return e.error ?? e.outcome;
  }
}

function countOutcomes(events: PreviewEvent[]): string {
  const n = new Map<string, number>();
  for (const e of events) n.set(e.outcome, (n.get(e.outcome) ?? 0) + 1);
  return [...n].map(([k, c]) => `${k} ${c}`).join(", ");
}

function rowText(row: PreviewRow): string {
  const v = (x: number | null) => (x === null ? "(no row)" : `v${x}`);
  const head = `${row.entity}:${row.id}  ${v(row.before)} → ${v(row.after)}`;
  if (row.changes.length === 0) return `${head}  (no field changes)`;
  const value = (has: boolean, x: unknown) => (has ? JSON.stringify(x) : "(absent)");
  const cells = row.changes.map((c) => [c.field || "(value)", value(c.op !== "add", c.before), value(c.op !== "remove", c.after)]);
  const diff = table(["field", "before", "after"], cells, 60);
  return `${head}\n${diff.replace(/^/gm, "  ")}`;
}
