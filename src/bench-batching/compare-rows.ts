/**
 * Whether a strategy ended with naive's rows: the first row whose data differs (or that only one
 * side has), and where inside the data the two first part. Data compares by value, whatever order
 * its object keys came in; versions and timestamps are not compared (coalescing writes fewer
 * versions by design).
 */
import type { FinalRow } from "./bench-database.ts";
import type { FirstDifference } from "./result.ts";

/** JSON with object keys sorted, so that equal data compares equal however its keys were ordered. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

/** The path of the first place where a and b differ (`[2].id`), "" when they differ as a whole. */
export function differencePath(a: unknown, b: unknown): string {
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= a.length || i >= b.length) return `[${i}]`;
      if (canonical(a[i]) !== canonical(b[i])) return `[${i}]${differencePath(a[i], b[i])}`;
    }
    return "";
  }
  if (isObject(a) && isObject(b) && !Array.isArray(a) && !Array.isArray(b)) {
    // entries with different ids are different entries, not one entry with a changed field
    if ("id" in a && "id" in b && canonical(a.id) !== canonical(b.id)) return "";
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (canonical(a[k]) !== canonical(b[k])) return `.${k}${differencePath(a[k], b[k])}`;
    }
  }
  return "";
}

/** For people: the part of `v` at the first step of a difference path (`[3]` of `[3].id`), the entry that differs. */
export function describePart(v: unknown, path: string): string {
  if (v === null && path === "") return "no row";
  const m = /^\[(\d+)\]|^\.([^.[]+)/.exec(path);
  if (!m || v === null || typeof v !== "object") return JSON.stringify(v);
  const part = (v as Record<string, unknown>)[m[1] ?? m[2]!];
  return part === undefined ? `nothing at ${m[0]}` : JSON.stringify(part);
}

const byKey = (x: FinalRow, y: FinalRow) => (x.entity !== y.entity ? (x.entity < y.entity ? -1 : 1) : x.id < y.id ? -1 : x.id > y.id ? 1 : 0);

/** The first row (by entity, id) where `actual` differs from `expected`, or null when they are equal. */
export function firstDifference(expected: readonly FinalRow[], actual: readonly FinalRow[]): Omit<FirstDifference, "batchSize"> | null {
  const es = [...expected].sort(byKey);
  const as = [...actual].sort(byKey);
  let i = 0;
  let j = 0;
  while (i < es.length || j < as.length) {
    const e = es[i];
    const a = as[j];
    const order = e && a ? byKey(e, a) : e ? -1 : 1;
    if (order === 0) {
      if (canonical(e!.data) !== canonical(a!.data)) return { entity: e!.entity, id: e!.id, path: differencePath(e!.data, a!.data), expected: e!.data, actual: a!.data };
      i++;
      j++;
    } else if (order < 0) return { entity: e!.entity, id: e!.id, path: "", expected: e!.data, actual: null };
    else return { entity: a!.entity, id: a!.id, path: "", expected: null, actual: a!.data };
  }
  return null;
}
