/**
 * The fields that differ between two states of a row, for people reading a dry run: nested
 * objects by dot-path (`location.lat`, keys in name order), entry lists (a chart's data sources: every element an
 * object with a unique `id`) by entry (`[curve-7].displaySettings.visible`), the notation of the
 * merge's conflict paths; any other array, or a value whose type changed, as a whole. A row that
 * appears or disappears lists each of its fields (or entries) as added or removed.
 */
import { deepEqual, entryId, isPlainObject, type EntryId } from "./merge.ts";

export interface FieldChange {
  /** dot-path in the row's data; `[id]` selects an entry of a list; "" is the whole value */
  field: string;
  op: "add" | "remove" | "replace";
  /** absent for op "add" */
  before?: unknown;
  /** absent for op "remove" */
  after?: unknown;
}

const ABSENT = Symbol("absent");
type Slot = unknown;

/** The changes from before to after; pass undefined for a row that does not exist. */
export function diffRow(before: unknown, after: unknown): FieldChange[] {
  const out: FieldChange[] = [];
  walk("", before === undefined ? ABSENT : before, after === undefined ? ABSENT : after, out);
  return out;
}

function walk(path: string, a: Slot, b: Slot, out: FieldChange[]): void {
  if (a !== ABSENT && b !== ABSENT && deepEqual(a, b)) return;
  if (isPlainObject(a) && isPlainObject(b)) return walkObjects(path, a, b, out);
  if (a === ABSENT && isPlainObject(b)) return walkObjects(path, {}, b, out);
  if (b === ABSENT && isPlainObject(a)) return walkObjects(path, a, {}, out);
  const la = a === ABSENT ? [] : a;
  const lb = b === ABSENT ? [] : b;
  const ea = entries(la);
  const eb = entries(lb);
  if (ea && eb) {
    const mark = out.length;
    for (const [id, x] of ea) if (!eb.has(id)) out.push({ field: entryPath(path, id), op: "remove", before: x });
    for (const [id, y] of eb) {
      const x = ea.get(id);
      if (x === undefined) out.push({ field: entryPath(path, id), op: "add", after: y });
      else walk(entryPath(path, id), x, y, out);
    }
    if (out.length > mark || a === ABSENT || b === ABSENT) return;
    // same entries, another order: say so as a whole
  }
  if (a === ABSENT) out.push({ field: path, op: "add", after: b });
  else if (b === ABSENT) out.push({ field: path, op: "remove", before: a });
  else out.push({ field: path, op: "replace", before: a, after: b });
}

function walkObjects(path: string, a: Record<string, unknown>, b: Record<string, unknown>, out: FieldChange[]): void {
  // by name: the order a row's keys come back in depends on its storage (jsonb sorts by length)
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    walk(keyPath(path, k), Object.hasOwn(a, k) ? a[k] : ABSENT, Object.hasOwn(b, k) ? b[k] : ABSENT, out);
  }
}

/** The list's elements by id when it is an entry list (every element an object with a unique id). */
function entries(v: unknown): Map<EntryId, unknown> | undefined {
  if (!Array.isArray(v)) return undefined;
  const m = new Map<EntryId, unknown>();
  for (const x of v) {
    const id = entryId(x);
    if (id === undefined || m.has(id)) return undefined;
    m.set(id, x);
  }
  return m;
}

function keyPath(path: string, key: string): string {
  const part = /^[\p{L}_$][\p{L}\p{N}_$-]*$/u.test(key) ? key : JSON.stringify(key);
  return path ? `${path}.${part}` : part;
}

function entryPath(path: string, id: EntryId): string {
  return `${path}[${typeof id === "string" ? id : `#${id}`}]`;
}
