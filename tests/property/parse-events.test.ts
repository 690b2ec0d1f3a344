/**
 * parse_events reads a batch through typed columns when typed_batch says it may, and through jsonb
 * with a JSON type check per field otherwise. Properties (fast-check, on PGlite and on the real
 * server when it answers): for any batch of objects whose fields are any JSON (or missing), when
 * typed_batch holds both paths give the same rows; batches whose fields have the expected JSON
 * types always take the typed path. The cases mix valid values with every kind of bad one
 * (wrong types, empty and over-long strings, fractions, negatives, huge numbers, `5.0`, nulls).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgClient } from "../../src/postgres/pg-client.ts";
import type { SqlQueryable } from "../../src/postgres/sql-client.ts";
import { PgSink } from "../../src/sinks/pg/pg-sink.ts";
import { createMigratedPglite } from "../helpers/pglite.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";

/** JSON text of a field value, or undefined to leave the field out. */
type Field = fc.Arbitrary<string | undefined>;

const str = (...values: string[]) => fc.constantFrom(...values.map((v) => JSON.stringify(v)));
const raw = (...values: string[]) => fc.constantFrom(...values);
const missing = fc.constant(undefined);
/** JSON that is not a string, or not a number */
const notString = raw("null", "true", "7", "-1.5", "[]", '["a"]', "{}", '{"a":1}');
const notNumber = raw("null", "true", '"7"', "[]", "[1]", "{}");

const longId = "é".repeat(201);
const fields: Record<string, { good: Field; bad: Field }> = {
  id: { good: str("e1", "e2", "ünï-🚀", "", longId), bad: fc.oneof(notString, missing) },
  type: { good: str("add", "update", "remove", "explode", ""), bad: fc.oneof(raw("5", "null", "{}"), missing) },
  entity: { good: str("well", "chart_data_source", "curve", "no_such", ""), bad: fc.oneof(notString, missing) },
  entityId: { good: str("r1", "r2", "", "x".repeat(501)), bad: fc.oneof(notString, missing) },
  payload: { good: raw("{}", '{"id":"s1","k":1}', '{"k":"v"}'), bad: fc.oneof(raw("[1,2]", '"s"', "3", "null"), missing) },
  timestamp: { good: raw("1700000000000", "1.5", "-3", "0", "1e300"), bad: fc.oneof(notNumber, raw('"yesterday"'), missing) },
  clientId: { good: fc.oneof(str("a", "b", "c".repeat(201)), raw("null"), missing), bad: raw("5", "[]", "{}", "true") },
  seq: { good: fc.oneof(raw("0", "3", "5.0", "1.5", "-1", "1e20", "9000000000000000000", "null"), missing), bad: raw('"3"', "[]", "{}", "false") },
  baseVersion: { good: fc.oneof(raw("0", "2", "2.0", "0.5", "-4", "1e19", "null"), missing), bad: raw('"2"', "[0]", "true") },
  coalesced: { good: fc.oneof(raw('["x","y"]', "[]", '[1]', '[""]', '"x"', "null"), missing), bad: raw("{}") },
};

/** the fields whose JSON type typed_batch checks (the others are read as text or jsonb either way) */
const TYPED = ["id", "entity", "entityId", "timestamp", "clientId", "seq", "baseVersion"];

/** One event's JSON text; each field takes a badly typed value once in `1 + goodWeight` draws (never when 0). */
function eventArb(goodWeight: number | "always"): fc.Arbitrary<string> {
  const entries = Object.entries(fields).map(([key, f]) =>
    (goodWeight === "always" ? f.good : fc.oneof({ weight: goodWeight, arbitrary: f.good }, { weight: 1, arbitrary: f.bad })).map(
      (v) => [key, v] as const,
    ),
  );
  return fc.tuple(...entries).map((kv) => `{${kv.filter(([, v]) => v !== undefined).map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`);
}

const batchArb = (goodWeight: number | "always") => fc.array(eventArb(goodWeight), { minLength: 1, maxLength: 6 }).map((es) => `[${es.join(",")}]`);

function properties(label: string, open: () => Promise<{ db: SqlQueryable; close(): Promise<void> }>): void {
  describe(`parse_events: typed and exact paths (${label})`, () => {
    let db: SqlQueryable;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ db, close } = await open());
    });
    afterAll(async () => {
      await close?.();
    });

    const parse = async (batch: string, fast: boolean) =>
      (
        await db.query<{ r: unknown }>(
          `select to_jsonb(p) as r from mudsync.parse_events($1::jsonb, '{}', 1048576, '{}', '{}', $2) p order by p.idx`,
          [batch, fast],
        )
      ).rows.map((x) => x.r);
    const typed = async (batch: string) =>
      (await db.query<{ t: boolean }>("select mudsync.typed_batch($1::jsonb) as t", [batch])).rows[0]?.t;

    it("when typed_batch holds, both paths read the batch alike", async () => {
      let compared = 0;
      await fc.assert(
        fc.asyncProperty(batchArb(12), async (batch) => {
          if (!(await typed(batch))) return;
          compared += 1;
          expect(await parse(batch, true)).toEqual(await parse(batch, false));
        }),
        { numRuns: 150 },
      );
      expect(compared).toBeGreaterThan(20);
    });

    it("a batch whose fields have the expected JSON types takes the typed path", async () => {
      await fc.assert(
        fc.asyncProperty(batchArb("always"), async (batch) => {
          expect(await typed(batch)).toBe(true);
        }),
        { numRuns: 50 },
      );
    });

    it("a badly typed field anywhere sends the batch to the exact path", async () => {
      await fc.assert(
        fc.asyncProperty(batchArb("always"), fc.constantFrom(...TYPED), fc.nat(), async (batch, key, n) => {
          const events = JSON.parse(batch) as Record<string, unknown>[];
          const bad = fc.sample(fields[key]!.bad.filter((v) => v !== undefined), { numRuns: 1, seed: n })[0] as string;
          events[n % events.length]![key] = JSON.parse(bad);
          expect(await typed(JSON.stringify(events))).toBe(false);
        }),
        { numRuns: 50 },
      );
    });
  });
}

properties("pglite", async () => {
  const sink = await createMigratedPglite();
  return { db: sink.client, close: () => sink.close() };
});

describe.runIf(await realPgAvailable())("real PostgreSQL", () => {
  properties("pg", async () => {
    const database: TestDatabase = await createTestDatabase("mudsync_parse");
    const sink = new PgSink(new PgClient({ url: database.url }), { schema: "mudsync" });
    await sink.migrate();
    return {
      db: sink.client,
      close: async () => {
        await sink.close();
        await database.drop();
      },
    };
  });
});
