/**
 * Three-way merges (base, local, remote) for conflict resolution.
 *
 * Documents (`mergeDocuments`): plain objects merge field by field, recursively for nested plain
 * objects. A field changed only locally takes the local value; changed only remotely keeps the
 * remote value; changed on both sides to different values takes the LOCAL value and its dot-path is
 * reported in `conflicts` (so the audit shows what the remote side lost). Deleting a field counts as
 * a change. Arrays and other values are compared whole.
 *
 * Entry lists (`mergeEntryLists`, a chart's data_source_config): merged per element by entry id.
 * An entry removed on either side is absent from the result even if the other side edited it — a
 * deselected entry never comes back. Entries added on one side are kept; entries present on both
 * merge field-wise as documents. Order: the remote's order, then local additions in local order.
 */

export type Doc = Record<string, unknown>;

export interface MergeResult<T> {
  merged: T;
  /** dot-paths (documents) or `[id].path` (entry lists) changed differently on both sides */
  conflicts: string[];
}

export function isPlainObject(v: unknown): v is Doc {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Structural equality of JSON-like values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

const ABSENT = Symbol("absent");
type Slot = unknown | typeof ABSENT;

function slot(o: Doc, k: string): Slot {
  return Object.hasOwn(o, k) ? o[k] : ABSENT;
}

function same(a: Slot, b: Slot): boolean {
  return a === ABSENT || b === ABSENT ? a === b : deepEqual(a, b);
}

export function mergeDocuments(base: Doc, local: Doc, remote: Doc): MergeResult<Doc> {
  const conflicts: string[] = [];
  const merged = mergeInto(base, local, remote, "", conflicts);
  return { merged, conflicts };
}

function mergeInto(base: Doc, local: Doc, remote: Doc, path: string, conflicts: string[]): Doc {
  const out: Doc = {};
  const keys = new Set([...Object.keys(remote), ...Object.keys(local), ...Object.keys(base)]);
  for (const k of keys) {
    const b = slot(base, k);
    const l = slot(local, k);
    const r = slot(remote, k);
    const p = path ? `${path}.${k}` : k;
    let v: Slot;
    if (same(l, b)) v = r; // unchanged locally: remote's value (changed or not)
    else if (same(r, b) || same(l, r)) v = l; // changed only locally, or both the same way
    else if ((b === ABSENT || isPlainObject(b)) && isPlainObject(l) && isPlainObject(r)) {
      v = mergeInto(isPlainObject(b) ? b : {}, l, r, p, conflicts); // both edited inside: go deeper
    } else {
      conflicts.push(p);
      v = l;
    }
    if (v !== ABSENT) out[k] = v;
  }
  return out;
}

export type EntryId = string | number;

/** The id of an entry, or undefined when it has none usable. */
export function entryId(entry: unknown): EntryId | undefined {
  if (!isPlainObject(entry)) return undefined;
  const id = entry["id"];
  return typeof id === "string" || typeof id === "number" ? id : undefined;
}

function byId(list: readonly Doc[]): Map<EntryId, Doc> {
  const m = new Map<EntryId, Doc>();
  for (const e of list) {
    const id = entryId(e);
    if (id !== undefined) m.set(id, e);
  }
  return m;
}

export function mergeEntryLists(
  base: readonly Doc[],
  local: readonly Doc[],
  remote: readonly Doc[],
): MergeResult<Doc[]> {
  const b = byId(base);
  const l = byId(local);
  const r = byId(remote);
  const conflicts: string[] = [];
  const merged: Doc[] = [];
  const take = (id: EntryId) => {
    const be = b.get(id);
    const le = l.get(id);
    const re = r.get(id);
    if (be && (!le || !re)) return; // removed on one side: stays removed
    if (le && re) {
      const m = mergeDocuments(be ?? {}, le, re);
      conflicts.push(...m.conflicts.map((c) => `[${JSON.stringify(id)}].${c}`));
      merged.push(m.merged);
    } else if (le ?? re) {
      merged.push((le ?? re) as Doc);
    }
  };
  for (const e of remote) {
    const id = entryId(e);
    if (id === undefined) merged.push(e); // not addressable: left as the remote has it
    else if (r.get(id) === e) take(id);
  }
  for (const id of l.keys()) if (!r.has(id)) take(id);
  return { merged, conflicts };
}
