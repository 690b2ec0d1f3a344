/**
 * Coalescing: merges consecutive edits of one row into fewer wire events without changing the
 * row's final state. Rules (applied only to neighbours in the row's order, never reordering):
 *
 * - Two events merge only if they have the same clientId and the same baseVersion (both absent or
 *   equal): edits of different clients, or made against different versions, stay separate so the
 *   server's conflict detection sees them. An event that may already have reached the server
 *   (`outcome` set, `attempts` or `retryCount` > 0) is never merged: sent alone, a replay of it is a
 *   clean `duplicate`.
 * - Documents (well, polygon, curve): update+update → update with the payloads shallow-merged (later
 *   wins); add+update → add with the merged payload; add|update|remove followed by remove → the
 *   remove.
 * - Chart entries (chart_data_source, keyed by payload.id): the same table, but only for events of
 *   the same entry; add followed by remove of one entry therefore cancels into the remove.
 * - Other entities are not coalesced (their semantics belong to their registry handler).
 *
 * The merged wire event keeps the LAST event's id, clientId, seq and timestamp and lists the
 * earlier ids, in order, in `coalesced`; the server records those as applied with the same outcome.
 */
import type { QueuedEvent } from "./event.ts";
import { decodedPayload } from "./export-types.ts";
import type { WireEvent } from "./ports.ts";

export interface CoalesceRules {
  /** entities whose row is a document: add creates, update shallow-merges, remove deletes */
  documentEntities: ReadonlySet<string>;
  /** entities whose row is a list of entries keyed by payload.id */
  entryListEntities: ReadonlySet<string>;
}

export const DEFAULT_COALESCE_RULES: CoalesceRules = {
  documentEntities: new Set(["well", "polygon", "curve"]),
  entryListEntities: new Set(["chart_data_source"]),
};

/** The wire form of a queued event: the export's field names, no queue bookkeeping. */
export function toWireEvent(e: QueuedEvent): WireEvent {
  const w: WireEvent = {
    id: e.id,
    type: e.type,
    entity: e.entity,
    entityId: e.entityId,
    payload: decodedPayload(e),
    timestamp: e.timestamp,
  };
  if (e.clientId !== undefined) w.clientId = e.clientId;
  if (e.seq !== undefined) w.seq = e.seq;
  if (e.baseVersion !== undefined) w.baseVersion = e.baseVersion;
  return w;
}

/** True when the event may already have been applied by the server. */
export function mayHaveReachedServer(e: QueuedEvent): boolean {
  return e.outcome !== undefined || (e.attempts ?? 0) > 0 || e.retryCount > 0;
}

/**
 * Coalesces the events of ONE row, given in the row's order (compareRowOrder). Returns the wire
 * events in the same order; every input id appears exactly once, as a wire id or in `coalesced`.
 */
export function coalesceRow(
  events: readonly QueuedEvent[],
  rules: CoalesceRules = DEFAULT_COALESCE_RULES,
): WireEvent[] {
  const out: WireEvent[] = [];
  let open: { wire: WireEvent; source: QueuedEvent } | undefined;
  for (const e of events) {
    const merged = open ? mergePair(open.wire, open.source, e, rules) : undefined;
    if (open && merged) {
      out[out.length - 1] = merged;
      open = { wire: merged, source: e };
    } else {
      const wire = toWireEvent(e);
      out.push(wire);
      open = mayHaveReachedServer(e) ? undefined : { wire, source: e };
    }
  }
  return out;
}

type Kind = "document" | "entry";

function kindOf(entity: string, rules: CoalesceRules): Kind | undefined {
  if (rules.documentEntities.has(entity)) return "document";
  if (rules.entryListEntities.has(entity)) return "entry";
  return undefined;
}

/** The merged wire event for `prev` followed by `next`, or undefined if they must stay apart. */
function mergePair(
  prev: WireEvent,
  prevSource: QueuedEvent,
  next: QueuedEvent,
  rules: CoalesceRules,
): WireEvent | undefined {
  if (mayHaveReachedServer(next) || mayHaveReachedServer(prevSource)) return undefined;
  if (prev.entity !== next.entity || prev.entityId !== next.entityId) return undefined;
  if (prev.clientId !== next.clientId || prev.baseVersion !== next.baseVersion) return undefined;
  const kind = kindOf(next.entity, rules);
  if (!kind) return undefined;
  if (kind === "entry" && !sameEntry(prev.payload, next.payload)) return undefined;

  let type: WireEvent["type"];
  let payload: Record<string, unknown>;
  if (next.type === "remove") {
    type = "remove";
    payload = next.payload;
  } else if (next.type === "update" && (prev.type === "add" || prev.type === "update")) {
    type = prev.type;
    payload = { ...prev.payload, ...next.payload };
  } else {
    return undefined;
  }
  const merged: WireEvent = {
    ...toWireEvent(next),
    type,
    payload,
    coalesced: [...(prev.coalesced ?? []), prev.id],
  };
  return merged;
}

function sameEntry(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const ia = a["id"];
  return (typeof ia === "string" || typeof ia === "number") && ia === b["id"];
}
