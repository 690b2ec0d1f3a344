/**
 * The dexie-export-import JSON format (formatName "dexie", formatVersion 1) as the browser app's
 * databases produce it: `EventQueueDB` with its `events` table and `CacheDB` with its `cache`
 * table. Names, schema strings and row shapes live here; reader.ts and writer.ts do the I/O.
 *
 * Rows are stored as the export holds them. dexie-export-import encodes special values (Date,
 * undefined, NaN…) with a `$types` key beside the value; such a key is kept verbatim so that
 * export → import → export gives back the same bytes.
 */
import { z } from "zod";
import { EVENT_SHAPE_HINT, describeIssues, queuedEventSchema } from "../../core/event.ts";
import { payloadSizeProblem, type ValueCheckOptions, valuePath, valueProblem } from "../../core/value-limits.ts";

export const FORMAT_NAME = "dexie";
export const FORMAT_VERSION = 1;

/** One row of the browser app's `CacheDB.cache` table. */
export const cacheRowSchema = z.looseObject({
  key: z.string().min(1),
  data: z.unknown(),
  timestamp: z.number().finite().nonnegative(),
  ttl: z.number().finite().nonnegative(),
  version: z.number().int().nonnegative(),
});

export const CACHE_SHAPE_HINT = "expected a cache entry {key, data, timestamp: ms, ttl: ms, version: int}";

export interface TableSpec {
  /** table name inside the database */
  table: "events" | "cache";
  /** Dexie schema string, primary key first, as dexie-export-import writes it */
  schema: string;
  /** `hint: false`: the row has the right shape and the shape hint would not help */
  validate(row: unknown): { ok: true } | { ok: false; reason: string; path: (string | number)[]; hint?: false };
  shapeHint: string;
}

/**
 * Validates a row: first its values (value-limits.ts: nesting depth, and for events the strings
 * PostgreSQL cannot store and the payload's size), then its shape with the schema.
 */
function validator(schema: z.ZodType, values: ValueCheckOptions) {
  return (row: unknown): { ok: true } | { ok: false; reason: string; path: (string | number)[]; hint?: false } => {
    const bad = valueProblem(row, values);
    if (bad) return { ok: false, reason: bad.reason, path: bad.path, hint: false };
    // events go to the server, which refuses a payload over its size limit
    const big = payloadSizeProblem((row as { payload?: unknown } | null)?.payload);
    if (big) return { ok: false, reason: big, path: ["payload"], hint: false };
    const r = schema.safeParse(row);
    if (r.success) return { ok: true };
    // the first problem's path goes into the JSON path; its message and any others into the reason
    const [first, ...rest] = r.error.issues;
    const others = rest.length > 0 ? describeIssues(new z.ZodError(rest)) : "";
    return {
      ok: false,
      reason: `${first?.message ?? "invalid"}${others ? `; also ${others}` : ""}`,
      path: (first?.path ?? []).map((p) => (typeof p === "number" ? p : String(p))),
    };
  };
}

/** The databases an export may hold, by databaseName, with the one table each may contain. */
export const DATABASES = {
  EventQueueDB: {
    table: "events",
    schema: "id,status,timestamp,[status+timestamp]",
    validate: validator(queuedEventSchema, { strings: true }),
    shapeHint: EVENT_SHAPE_HINT,
  },
  CacheDB: {
    table: "cache",
    schema: "key,timestamp,[timestamp+ttl]",
    // cache entries stay local (never sent to the server): only their depth matters
    validate: validator(cacheRowSchema, { strings: false }),
    shapeHint: CACHE_SHAPE_HINT,
  },
} as const satisfies Record<string, TableSpec>;

export type DatabaseName = keyof typeof DATABASES;
export const DATABASE_NAMES = Object.keys(DATABASES) as DatabaseName[];

/** The version the browser app declares for both databases (`this.version(1)`). */
export const BROWSER_DATABASE_VERSION = 1;

export function isDatabaseName(name: string): name is DatabaseName {
  return Object.prototype.hasOwnProperty.call(DATABASES, name);
}

/** What an export declares about itself (the `data.tables` list and the database). */
export interface ExportHeader {
  databaseName: DatabaseName;
  databaseVersion: number;
  tables: { name: string; schema: string; rowCount: number }[];
}

/** Appends a key path (from a validator) to a JSON path: `rows[3]` + ["payload", 0] → `rows[3].payload[0]`. */
export function joinPath(base: string, keys: readonly (string | number)[]): string {
  return valuePath(keys, base);
}
