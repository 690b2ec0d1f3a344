/**
 * The merge proposed for a parked conflict: the three-way merge of the local edit with the row as
 * it is now, as whole values. `conflicts show` displays it and `conflicts resolve --take merged`
 * writes exactly it (guarded by the row's version), so what a person approves is what is stored.
 *
 * The server keeps no history of a row, so unless the event carries the document it was edited
 * from, the current row stands in for the base: the fields the local edit sets take its values,
 * every other field keeps the server's.
 */
import { entriesOf, isEntryList, mergeRow } from "./conflict.ts";
import { entryId, isPlainObject, type Doc } from "./merge.ts";
import type { WireEvent } from "./ports.ts";

export interface MergeProposal {
  /** version of the row the proposal was computed on (0: the row does not exist) */
  version: number;
  /** the row's data once resolved: the document, the entry list, or null when the row is removed */
  row: unknown;
  /** what is written: the whole document, or the whole entry for entry lists; null removes it */
  write: Doc | null;
  reason: string;
  /** fields changed differently on both sides; the local value was taken */
  conflicts: string[];
}

export type ProposalResult = { proposal: MergeProposal } | { none: string };

export interface ProposalInput {
  event: WireEvent;
  /** the row now (null: no such row) */
  current: { version: number; data: unknown } | null;
  base?: unknown;
  entryListEntities?: ReadonlySet<string>;
}

export function proposeMerge(input: ProposalInput): ProposalResult {
  const { event, current, entryListEntities } = input;
  const data = current?.data ?? null;
  const version = current ? current.version : 0;
  const m = mergeRow(event, data, input.base, entryListEntities);
  if (m.kind === "drop") return { none: m.reason };
  const write = m.kind === "write" ? m.full : null;
  const reason = m.reason;
  const conflicts = m.kind === "write" ? m.conflicts : [];
  if (!isEntryList(event.entity, entryListEntities)) return { proposal: { version, row: write, write, reason, conflicts } };
  const id = entryId(event.payload);
  const entries = entriesOf(data);
  const at = entries.findIndex((e) => entryId(e) === id);
  let list: Doc[];
  if (write === null) list = entries.filter((_, i) => i !== at);
  else if (at < 0) list = [...entries, write];
  else list = entries.map((e, i) => (i === at ? write : e));
  return { proposal: { version, row: list, write, reason, conflicts } };
}

/**
 * Checks a merged value given by a person: the whole document (or entry), never a part of it, since
 * it replaces what is stored. Returns a reason to refuse it, or undefined when it can be written.
 */
export function checkGivenMerge(input: ProposalInput, merged: unknown): string | undefined {
  const { event, current, entryListEntities } = input;
  if (merged === null) return undefined;
  if (!isPlainObject(merged)) return "expected a JSON object (the whole merged document or entry) or null to remove it";
  let stored: Doc | undefined;
  if (isEntryList(event.entity, entryListEntities)) {
    const id = entryId(event.payload);
    if (entryId(merged) !== id) return `expected the entry with "id": ${JSON.stringify(id)}, got ${JSON.stringify(merged["id"])}`;
    stored = entriesOf(current?.data).find((e) => entryId(e) === id);
  } else {
    stored = isPlainObject(current?.data) ? current.data : undefined;
  }
  const missing = stored ? Object.keys(stored).filter((k) => !Object.hasOwn(merged, k)) : [];
  return missing.length > 0
    ? `it lacks fields the stored ${isEntryList(event.entity, entryListEntities) ? "entry" : "row"} has (${missing.join(", ")}); ` +
        "give the whole merged value (a field left out would be deleted)"
    : undefined;
}
