/**
 * A copy of a stored row that a caller may change freely without reaching the store's own image.
 * Strings and numbers are immutable, so only objects and arrays are copied; the strings are
 * shared. structuredClone copies every string as well, which made it the largest allocation of
 * a drain (about 2 KB per claimed event, all of it outliving the young generation because a
 * claimed batch lives until it is settled). Anything that is not plain data (a Date, a Map …)
 * still goes through structuredClone.
 */

function copyObject(v: object): unknown {
  if (Array.isArray(v)) return v.map(copyValue);
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return structuredClone(v);
  // a plain object, as structuredClone makes it (also from a null-prototype one)
  const out: Record<string, unknown> = {};
  // for-in walks V8's enum cache; Object.keys would allocate an array of names per object
  for (const key in v) {
    if (!Object.hasOwn(v, key)) continue;
    const value = copyValue((v as Record<string, unknown>)[key]);
    // "__proto__" as an own key (JSON.parse makes those) must stay an own property
    if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  return out;
}

function copyValue(v: unknown): unknown {
  return typeof v === "object" && v !== null ? copyObject(v) : v;
}

/** A detached copy of a plain-data row (same result as structuredClone for what the store keeps). */
export function detachedCopy<T extends object>(row: T): T {
  return copyObject(row) as T;
}
