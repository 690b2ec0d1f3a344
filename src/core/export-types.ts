/**
 * dexie-export-import (Typeson) tags special values of an exported row in a `$types` map from key
 * path to type: `payload.displaySettings.color: "undef"` means the browser held `undefined` there
 * (written as 0), `arrayNonindexKeys` tags every array. The store keeps `$types` verbatim so an
 * export round-trips byte for byte; this module gives the value the browser app meant, which is
 * what the app would have sent as JSON: `undefined` properties absent, arrays as they are.
 */
export type TypesMap = Record<string, string>;

function unescapeKey(key: string): string {
  return key.replace(/~1/g, ".").replace(/~0/g, "~");
}

/**
 * The payload of an event as the browser app meant it. Only `undef` changes anything; other
 * Typeson types (dates, maps, binary) keep their encoded JSON form, which is also what JSON
 * serialisation of such a value would carry closest to the server.
 */
export function decodedPayload(event: { payload: Record<string, unknown>; $types?: unknown }): Record<string, unknown> {
  const types = event.$types;
  if (types === null || typeof types !== "object") return event.payload;
  const undefPaths = Object.entries(types as TypesMap)
    .filter(([path, type]) => type === "undef" && path.startsWith("payload."))
    .map(([path]) => path.slice("payload.".length).split(".").map(unescapeKey));
  if (undefPaths.length === 0) return event.payload;
  const copy = structuredClone(event.payload);
  for (const keys of undefPaths) {
    const last = keys.pop()!;
    let parent: unknown = copy;
    for (const k of keys) parent = parent && typeof parent === "object" ? (parent as Record<string, unknown>)[k] : undefined;
    if (parent && typeof parent === "object") delete (parent as Record<string, unknown>)[last];
  }
  return copy;
}
