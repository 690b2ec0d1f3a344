/**
 * Helpers over the history's normalised values: a canonical text of a value (so equal values
 * compare and index as equal strings), applying an edit's effect, and short descriptions of a
 * value or a difference for the checker's example messages.
 */
import type { Effect, RowValue } from "../history/history-records.ts";

/** JSON with object keys sorted: equal values give equal text. */
export function canonical(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? "null";
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
  return out;
}

/** The value a row shows for one key (an entry id or a field); absent is `null`. */
export function valueAt(row: RowValue, key: string): unknown {
  if (row === null) return null;
  const v = row[key];
  return v === undefined ? null : v;
}

/** The value an effect gives a key: `undefined` when the effect does not touch it. */
export function effectValue(effect: Effect, key: string): unknown {
  if (effect === null) return null;
  return Object.hasOwn(effect, key) ? (effect[key] ?? null) : undefined;
}

/** The row after an edit: a null effect deletes it; a key set to null is removed. */
export function applyEffect(row: RowValue, effect: Effect): RowValue {
  if (effect === null) return null;
  const next: Record<string, unknown> = { ...(row ?? {}) };
  for (const [k, v] of Object.entries(effect)) {
    if (v === null || v === undefined) delete next[k];
    else next[k] = v;
  }
  return next;
}

/** The entity of a `<entity>:<id>` row. */
export function entityOf(row: string): string {
  const i = row.indexOf(":");
  return i < 0 ? row : row.slice(0, i);
}

/** A value for a message: strings quoted, long ones cut, absence as "nothing". */
export function show(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

/** The first key two rows disagree on, as `key A vs B`, or a note that one of them is missing. */
export function describeDifference(a: RowValue, b: RowValue, aName: string, bName: string): string {
  if (a === null || b === null) return `${aName} ${a === null ? "has no row" : show(a)}, ${bName} ${b === null ? "has no row" : show(b)}`;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    const x = valueAt(a, k);
    const y = valueAt(b, k);
    if (canonical(x) !== canonical(y)) return `${k} is ${show(x)} in the ${aName}, ${show(y)} in the ${bName}`;
  }
  return "they differ";
}
