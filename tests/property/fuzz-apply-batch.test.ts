/**
 * Fuzzing `apply_batch` with arbitrary JSON (fast-check): any value sent as the batch gets one
 * result per event (applied, duplicate, conflict, deferred or rejected with a reason) or, for a
 * batch that is not an array or holds text PostgreSQL cannot store, the documented permanent
 * error (SQLSTATE 22023, 22P05); never a server crash or a half-applied batch. Afterwards the
 * ledger, the audit log and the rows agree: every applied event is in the ledger once, every
 * audited batch has one decision per event, and a plain batch still applies. On the real server
 * when it answers, else on PGlite. MUDSYNC_FUZZ_SCALE raises the number of cases.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anyJson, fuzz, hostileText, reportFuzzRuns } from "./fuzz-budget.ts";
import { PgClient } from "../../src/postgres/pg-client.ts";
import { PgSink } from "../../src/sinks/pg/pg-sink.ts";
import { SinkError } from "../../src/errors.ts";
import type { SqlClient } from "../../src/postgres/sql-client.ts";
import { createMigratedPglite } from "../helpers/pglite.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";

const OUTCOMES = new Set(["applied", "duplicate", "conflict", "deferred", "rejected"]);

let db: TestDatabase | undefined;
let sink: PgSink;
let client: SqlClient;

beforeAll(async () => {
  if (await realPgAvailable()) {
    db = await createTestDatabase("mudsync_fuzz");
    client = new PgClient({ url: db.url });
    sink = new PgSink(client, { schema: "mudsync" });
    await sink.migrate();
  } else {
    sink = await createMigratedPglite();
    client = sink.client;
  }
}, 120_000);
afterAll(async () => {
  await sink?.close();
  await db?.drop();
  reportFuzzRuns("fuzz-apply-batch");
});

let k = 0;
/** Event-shaped objects whose fields are sometimes right, sometimes any JSON. */
const eventish = fc
  .record(
    {
      id: fc.oneof(fc.constant("id"), hostileText, anyJson),
      type: fc.oneof(fc.constantFrom("add", "remove", "update"), anyJson),
      entity: fc.oneof(fc.constantFrom("well", "curve", "polygon", "chart_data_source"), hostileText, anyJson),
      entityId: fc.oneof(fc.constantFrom("r1", "r2"), hostileText, anyJson),
      payload: fc.oneof(fc.record({ id: fc.constantFrom("e1", "e2"), v: fc.integer() }), anyJson),
      timestamp: fc.oneof(fc.integer({ min: 0, max: 2 ** 42 }), anyJson),
      clientId: fc.oneof(fc.constantFrom("a", "b"), anyJson),
      seq: fc.oneof(fc.nat(5), anyJson),
      baseVersion: fc.oneof(fc.nat(3), anyJson),
      coalesced: fc.oneof(fc.array(fc.string({ maxLength: 8 }), { maxLength: 2 }), anyJson),
    },
    { requiredKeys: [] },
  )
  .map((e) => (typeof e.id === "string" ? { ...e, id: `${(k += 1)}-${e.id}`, entityId: typeof e.entityId === "string" ? `f-${e.entityId}` : e.entityId } : e));

const batchArb = fc.oneof(
  { weight: 1, arbitrary: anyJson },
  { weight: 4, arbitrary: fc.array(fc.oneof({ weight: 4, arbitrary: eventish }, { weight: 1, arbitrary: anyJson }), { maxLength: 8 }) },
);

describe("fuzz: apply_batch", () => {
  let batches = 0;
  let events = 0;
  let applied = 0;

  it("any JSON as a batch: one result per event, or the documented whole-batch error", async () => {
    await fuzz("apply-batch", 250, batchArb, async (batch) => {
      const text = JSON.stringify(batch) ?? "null";
      try {
        const { rows } = await client.query<{ r: { id: unknown; outcome: string; reason?: string }[] }>(
          "select mudsync.apply_batch($1::jsonb) as r",
          [text],
        );
        const results = rows[0]!.r;
        expect(Array.isArray(batch)).toBe(true);
        expect(results).toHaveLength((batch as unknown[]).length);
        for (const r of results) {
          expect(OUTCOMES.has(r.outcome)).toBe(true);
          if (r.outcome === "rejected") expect(typeof r.reason).toBe("string");
        }
        if (results.length > 0) batches += 1;
        events += results.length;
        applied += results.filter((r) => r.outcome === "applied").length;
      } catch (err) {
        const code = (err as { code?: string }).code;
        // not an array, or text jsonb cannot hold (\u0000, a lone surrogate)
        expect(["22023", "22P05", "22P02"]).toContain(code);
        if (code === "22023") expect(Array.isArray(batch)).toBe(false);
      }
    });
  }, 120_000);

  it("an element that is an array is rejected alone; the events beside it are decided (found by this fuzzing)", async () => {
    const ev = (id: string) => ({ id, type: "add", entity: "well", entityId: id, payload: { v: 1 }, timestamp: 1 });
    const id = `arr-${Date.now()}`;
    const { rows } = await client.query<{ r: { id: unknown; outcome: string; reason?: string }[] }>("select mudsync.apply_batch($1::jsonb) as r", [
      JSON.stringify([ev(`${id}-a`), [], [ev(`${id}-x`)], ev(`${id}-b`)]),
    ]);
    expect(rows[0]!.r).toEqual([
      { id: `${id}-a`, outcome: "applied", version: 1 },
      { id: null, outcome: "rejected", reason: "event: expected a JSON object" },
      { id: null, outcome: "rejected", reason: "event: expected a JSON object" },
      { id: `${id}-b`, outcome: "applied", version: 1 },
    ]);
    expect(await sink.getRow("well", `${id}-x`)).toBeNull();
  });

  it("the same inputs through the sink end in a classified SinkError, never an unexpected one", async () => {
    await fuzz("apply-batch-sink", 60, fc.array(eventish, { maxLength: 5 }), async (batch) => {
      try {
        const results = await sink.applyBatch(batch as never);
        expect(results).toHaveLength(batch.length);
      } catch (err) {
        expect(err).toBeInstanceOf(SinkError);
        expect((err as SinkError).retryable).toBe(false);
      }
    });
  }, 60_000);

  it("afterwards the ledger, the audit log and the rows agree, and a plain batch applies", async () => {
    const one = async (sql: string) => Number((await client.query<{ n: string }>(sql)).rows[0]!.n);
    // every batch that held events wrote one audit row, with one decision per event
    expect(await one("select count(*) as n from mudsync.audit_records where decisions is not null")).toBeGreaterThanOrEqual(batches);
    expect(await one("select count(*) as n from mudsync.audit_log where position_in_batch is not null")).toBeGreaterThanOrEqual(events);
    // every applied event is in the ledger exactly once, and no row has a version below 1
    expect(await one("select count(*) as n from mudsync.applied_events")).toBeGreaterThanOrEqual(applied);
    expect(await one("select count(*) - count(distinct event_id) as n from mudsync.applied_events")).toBe(0);
    expect(await one("select count(*) as n from mudsync.wells where version < 1")).toBe(0);
    const id = `plain-${Date.now()}`;
    const r = await sink.applyBatch([{ id, type: "add", entity: "well", entityId: id, payload: { ok: true }, timestamp: 1 }]);
    expect(r).toEqual([{ id, outcome: "applied", version: 1 }]);
    expect((await sink.getRow("well", id))?.data).toEqual({ ok: true });
  });
});
