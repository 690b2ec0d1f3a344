/**
 * A dry run of a drain: the real engine, with its batching, coalescing and conflict strategies,
 * drains copies of the events (a DryRunQueue) into a sink whose writes all go into one transaction
 * that is rolled back. Rows are read before and after inside that transaction, so the report says
 * what the real run would do to each event and to each field of each row, and nothing is kept:
 * not on the server, not in the local store.
 */
import type { Engine, EngineHooks } from "./engine.ts";
import type { DrainSummary } from "./drain-summary.ts";
import type { ConflictAudit } from "./conflict.ts";
import { DryRunQueue, type DryRunQueueOptions } from "./dry-run-queue.ts";
import { type EventStatus, type QueuedEvent, rowKey } from "./event.ts";
import type { QueueStore, RowState, Sink } from "./ports.ts";
import { diffRow, type FieldChange } from "./row-diff.ts";
import { UsageError } from "../errors.ts";

/** What the run would leave an event as, in words a person reads. */
export type PreviewOutcome =
  | "applied"
  | "re-applied" // conflicted, resubmitted by its strategy, then applied
  | "coalesced"
  | "duplicate"
  | "dropped" // conflict, the strategy dropped the local edit
  | "parked" // conflict, parked for a person (manual)
  | "rejected"
  | "superseded"
  | "dead"
  | "failed" // a retryable error: retried later
  | "pending";

export interface PreviewEvent {
  id: string;
  entity: string;
  entityId: string;
  /** chosen for this run; the others were already due in the store and are drained with them */
  chosen: boolean;
  outcome: PreviewOutcome;
  /** the status the run would leave it in */
  status: EventStatus;
  /** row version it would be applied as */
  version?: number;
  /** the last conflict decision on it, and how many conflicts it met */
  conflict?: { strategy: ConflictAudit["strategy"]; decision: ConflictAudit["decision"]; reason: string; times: number };
  /** why it failed, was rejected or is dead */
  error?: string;
}

export interface PreviewRow {
  entity: string;
  id: string;
  /** row versions before and after (null: no such row) */
  before: number | null;
  after: number | null;
  changes: FieldChange[];
}

export interface DrainPreview {
  events: PreviewEvent[];
  /** rows the run would change, and the rows of chosen events even when unchanged */
  rows: PreviewRow[];
  /** the engine's counters for the run; `left` counts only the events the dry run held */
  summary: DrainSummary;
}

export interface DrainPreviewInput {
  /** a sink that can roll back (Sink.rolledBack) */
  sink: Sink;
  /** the queue as the real run would start: chosen events already requeued, other open events as stored */
  events: QueuedEvent[];
  chosen: ReadonlySet<string>;
  /** builds the engine the real run would use, over the given store and sink */
  engine(store: QueueStore, sink: Sink, hooks: EngineHooks): Engine;
  queue?: DryRunQueueOptions;
}

export async function previewDrain(input: DrainPreviewInput): Promise<DrainPreview> {
  const { sink } = input;
  if (!sink.rolledBack) throw new UsageError(`dry run is not supported by the ${sink.name} sink: it cannot roll a transaction back`);
  const queue = new DryRunQueue(input.events, input.queue);
  const audits = new Map<string, ConflictAudit[]>();
  const settled = new Set<string>();
  const keys = rowsOf(input.events, input.chosen);
  return sink.rolledBack(async (tx) => {
    const before = await tx.readRows(keys);
    const engine = input.engine(queue, tx, {
      onSettled: (e) => void settled.add(e.id),
      onConflict: (a) => void audits.set(a.eventId, [...(audits.get(a.eventId) ?? []), a]),
    });
    const summary = await engine.drain();
    const after = await tx.readRows(keys);
    const events: PreviewEvent[] = [];
    for (const e of input.events) {
      if (!input.chosen.has(e.id) && !settled.has(e.id)) continue;
      events.push(describe((await queue.get(e.id))!, input.chosen.has(e.id), audits.get(e.id) ?? []));
    }
    const touched = new Set(events.map((e) => rowKey(e)));
    const chosenRows = new Set(input.events.filter((e) => input.chosen.has(e.id)).map(rowKey));
    const rows: PreviewRow[] = [];
    keys.forEach((k, i) => {
      const b = before[i] ?? null;
      const a = after[i] ?? null;
      const changes = diffRow(dataOf(b), dataOf(a));
      const key = rowKey({ entity: k.entity, entityId: k.id });
      if (!touched.has(key)) return;
      if (changes.length === 0 && b?.version === a?.version && !chosenRows.has(key)) return;
      rows.push({ entity: k.entity, id: k.id, before: b?.version ?? null, after: a?.version ?? null, changes });
    });
    return { events, rows, summary };
  });
}

/** Rows of the events, those of chosen events first, each once. */
function rowsOf(events: QueuedEvent[], chosen: ReadonlySet<string>): { entity: string; id: string }[] {
  const seen = new Map<string, { entity: string; id: string }>();
  for (const pass of [true, false]) {
    for (const e of events) {
      if (chosen.has(e.id) !== pass) continue;
      const key = rowKey(e);
      if (!seen.has(key)) seen.set(key, { entity: e.entity, id: e.entityId });
    }
  }
  return [...seen.values()];
}

function dataOf(row: RowState | null): unknown {
  return row === null ? undefined : row.data;
}

function describe(e: QueuedEvent, chosen: boolean, audits: ConflictAudit[]): PreviewEvent {
  const last = audits.at(-1);
  const out: PreviewEvent = { id: e.id, entity: e.entity, entityId: e.entityId, chosen, outcome: outcomeOf(e, last), status: e.status };
  if (e.appliedVersion !== undefined && e.status === "completed" && e.outcome !== "conflict") out.version = e.appliedVersion;
  if (last) out.conflict = { strategy: last.strategy, decision: last.decision, reason: last.reason, times: audits.length };
  if (e.lastError && e.status !== "completed") out.error = e.lastError;
  return out;
}

function outcomeOf(e: QueuedEvent, conflict: ConflictAudit | undefined): PreviewOutcome {
  switch (e.status) {
    case "completed":
      if (e.outcome === "conflict") return "dropped";
      if (e.outcome === "duplicate") return "duplicate";
      if (e.outcome === "coalesced") return "coalesced";
      return conflict?.decision === "resubmit" ? "re-applied" : "applied";
    case "dead":
      if (e.outcome === "conflict" && conflict?.decision === "park") return "parked";
      if (e.outcome === "rejected") return "rejected";
      if (e.lastError?.startsWith("superseded")) return "superseded";
      return "dead";
    case "failed":
      return "failed";
    default:
      return "pending";
  }
}
