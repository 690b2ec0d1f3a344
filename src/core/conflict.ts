/**
 * Conflict resolution: given an event the server refused as a version conflict and the row's
 * current state, decides what to do under a strategy, with an audit record of what and why.
 *
 * - local-wins: resubmit the event unchanged against the current version (baseVersion =
 *   current.version). If the row no longer exists, the baseVersion is dropped instead (an update
 *   with a baseVersion on a missing row would conflict again forever): the edit applies
 *   last-writer-wins and recreates the row.
 * - remote-wins: drop the event; `rollback: true` tells the optimistic state to undo it.
 * - manual: park it for a person.
 * - merge: three-way with `base` (the row's data at the event's baseVersion, when known; without it
 *   the remote stands in for the base, so the fields the event touches win). See merge.ts for the
 *   field rules. Per event type:
 *   - remove: the deletion is the local intent and is resubmitted (dropped, without rollback, if the
 *     row or entry is already gone);
 *   - update of a row/entry that the remote has removed: dropped with rollback — a removed row or
 *     deselected entry never comes back through an update;
 *   - add of a chart entry that existed at base and the remote has since removed: dropped with
 *     rollback, for the same reason; an add of a new entry or document is resubmitted, merged with
 *     what the remote has under that id;
 *   - update: resubmitted with only the fields whose merged value differs from the remote; dropped
 *     without rollback when the remote already has them all.
 *
 * Chart rows (entry-list entities) may be given as the entry array itself or as an object holding
 * it in `data_source_config`.
 */
import type { WireEvent } from "./ports.ts";
import { DEFAULT_COALESCE_RULES } from "./coalesce.ts";
import {
  deepEqual,
  entryId,
  isPlainObject,
  mergeDocuments,
  type Doc,
  type EntryId,
} from "./merge.ts";

export const CONFLICT_STRATEGIES = ["local-wins", "remote-wins", "merge", "manual"] as const;
export type ConflictStrategy = (typeof CONFLICT_STRATEGIES)[number];

export interface ConflictInput {
  strategy: ConflictStrategy;
  event: WireEvent;
  /** the row as the server reported it with the conflict; data null/undefined = no such row */
  current: { version: number; data: unknown };
  /** the row's data at event.baseVersion, if known */
  base?: unknown;
  /** entities whose rows are entry lists (default: chart_data_source) */
  entryListEntities?: ReadonlySet<string>;
}

export interface ConflictAudit {
  eventId: string;
  entity: string;
  entityId: string;
  strategy: ConflictStrategy;
  decision: "resubmit" | "drop" | "park";
  reason: string;
  baseVersion?: number;
  currentVersion: number;
  /** fields changed differently on both sides (merge only); the local value was taken */
  conflictFields?: string[];
}

export type ConflictDecision =
  | { kind: "resubmit"; event: WireEvent; audit: ConflictAudit }
  | { kind: "drop"; rollback: boolean; audit: ConflictAudit }
  | { kind: "park"; audit: ConflictAudit };

export function resolveConflict(input: ConflictInput): ConflictDecision {
  const { strategy, event, current } = input;
  const audit = (decision: ConflictAudit["decision"], reason: string, conflictFields?: string[]) => {
    const a: ConflictAudit = {
      eventId: event.id,
      entity: event.entity,
      entityId: event.entityId,
      strategy,
      decision,
      reason,
      currentVersion: current.version,
    };
    if (event.baseVersion !== undefined) a.baseVersion = event.baseVersion;
    if (conflictFields && conflictFields.length > 0) a.conflictFields = conflictFields;
    return a;
  };
  const resubmit = (payload: Doc, reason: string, conflictFields?: string[]): ConflictDecision => ({
    kind: "resubmit",
    event: rebase(event, payload, current),
    audit: audit("resubmit", reason, conflictFields),
  });
  const drop = (rollback: boolean, reason: string): ConflictDecision => ({
    kind: "drop",
    rollback,
    audit: audit("drop", reason),
  });

  switch (strategy) {
    case "local-wins":
      return resubmit(event.payload, `local edit re-applied on version ${current.version}`);
    case "remote-wins":
      return drop(true, `remote version ${current.version} kept; local edit discarded`);
    case "manual":
      return { kind: "park", audit: audit("park", "parked for manual resolution") };
    case "merge": {
      const m = mergeRow(event, current.data, input.base, input.entryListEntities);
      if (m.kind === "drop") return drop(m.rollback, m.reason);
      if (m.kind === "remove") return resubmit(event.payload, m.reason);
      return resubmit(resubmitPayload(event, m.full, current.data, input.entryListEntities), m.reason, m.conflicts);
    }
    default:
      throw new Error(`unknown conflict strategy ${String(strategy satisfies never)}`);
  }
}

/**
 * The three-way merge of one conflicting event with the row, as whole values: `write` holds the
 * complete merged document (or, for entry lists, the complete merged entry); `remove` says the
 * local removal stands; `drop` that the local edit has nothing left to apply.
 */
export type RowMerge =
  | { kind: "write"; full: Doc; reason: string; conflicts: string[] }
  | { kind: "remove"; reason: string }
  | { kind: "drop"; rollback: boolean; reason: string };

/** Merges `event` into the row `remote` (its data; null/undefined = no row) given the base when known. */
export function mergeRow(event: WireEvent, remote: unknown, base: unknown, entryListEntities?: ReadonlySet<string>): RowMerge {
  return isEntryList(event.entity, entryListEntities)
    ? mergeEntryEvent(event, entriesOf(remote), base === undefined ? undefined : entriesOf(base))
    : mergeDocumentEvent(event, docOf(remote), base === undefined ? undefined : docOf(base));
}

export function isEntryList(entity: string, entryListEntities?: ReadonlySet<string>): boolean {
  return (entryListEntities ?? DEFAULT_COALESCE_RULES.entryListEntities).has(entity);
}

/** What an event resubmitted after a merge carries: an add the whole value, an update only what differs. */
function resubmitPayload(event: WireEvent, full: Doc, remote: unknown, entryListEntities?: ReadonlySet<string>): Doc {
  if (event.type !== "update") return full;
  if (!isEntryList(event.entity, entryListEntities)) return changedFields(full, docOf(remote) ?? {});
  const id = entryId(full);
  const r = entriesOf(remote).find((e) => entryId(e) === id) ?? {};
  return { ...changedFields(full, r), id };
}

function write(full: Doc, reason: string, conflicts: string[] = []): RowMerge {
  return { kind: "write", full, reason, conflicts };
}

function rebase(event: WireEvent, payload: Doc, current: ConflictInput["current"]): WireEvent {
  const { baseVersion: _old, ...rest } = event;
  const rowGone = current.data === null || current.data === undefined;
  return rowGone ? { ...rest, payload } : { ...rest, payload, baseVersion: current.version };
}

function mergeDocumentEvent(event: WireEvent, remote: Doc | undefined, base: Doc | undefined): RowMerge {
  if (event.type === "remove") {
    return remote
      ? { kind: "remove", reason: "local removal kept over remote changes" }
      : { kind: "drop", rollback: false, reason: "row already removed" };
  }
  if (!remote) {
    return event.type === "add"
      ? write(event.payload, "row missing remotely; local add re-applied")
      : { kind: "drop", rollback: true, reason: "row removed remotely; an update does not bring it back" };
  }
  if (event.type === "add") {
    const m = mergeDocuments(base ?? {}, event.payload, remote);
    return write(m.merged, "three-way merge of the document", m.conflicts);
  }
  const b = base ?? remote;
  const m = mergeDocuments(b, { ...b, ...event.payload }, remote);
  return Object.keys(changedFields(m.merged, remote)).length === 0
    ? { kind: "drop", rollback: false, reason: "remote already has the local changes" }
    : write(m.merged, "three-way merge of the document", m.conflicts);
}

function mergeEntryEvent(event: WireEvent, remote: Doc[], base: Doc[] | undefined): RowMerge {
  const id = entryId(event.payload);
  if (id === undefined) {
    return { kind: "drop", rollback: true, reason: "event has no entry id to merge by" };
  }
  const find = (list: Doc[] | undefined) => list?.find((e) => entryId(e) === id);
  const r = find(remote);
  const b = find(base);
  const label = `entry ${JSON.stringify(id satisfies EntryId)}`;
  if (event.type === "remove") {
    return r
      ? { kind: "remove", reason: `${label} deselected locally; stays deselected` }
      : { kind: "drop", rollback: false, reason: `${label} already removed` };
  }
  if (!r) {
    if (event.type === "update" || b) {
      return { kind: "drop", rollback: true, reason: `${label} deselected remotely; it does not come back` };
    }
    return write(event.payload, `${label} newly selected locally`);
  }
  if (event.type === "add") {
    const m = mergeDocuments(b ?? {}, event.payload, r);
    return write(m.merged, `${label} merged field-wise`, m.conflicts);
  }
  const be = b ?? r;
  const m = mergeDocuments(be, { ...be, ...event.payload }, r);
  return Object.keys(changedFields(m.merged, r)).length === 0
    ? { kind: "drop", rollback: false, reason: `remote ${label} already has the local changes` }
    : write(m.merged, `${label} merged field-wise`, m.conflicts);
}

/** Top-level fields of `merged` whose value differs from `remote` (what an update must send). */
function changedFields(merged: Doc, remote: Doc): Doc {
  const out: Doc = {};
  for (const [k, v] of Object.entries(merged)) if (!deepEqual(v, remote[k])) out[k] = v;
  return out;
}

export function docOf(data: unknown): Doc | undefined {
  return isPlainObject(data) ? data : undefined;
}

export function entriesOf(data: unknown): Doc[] {
  const list = Array.isArray(data) ? data : isPlainObject(data) ? data["data_source_config"] : undefined;
  return Array.isArray(list) ? list.filter(isPlainObject) : [];
}
