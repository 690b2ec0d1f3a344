/**
 * The Postgres queue store's one-statement drain (claim, apply_batch and settle in one transaction)
 * on the real server, queue and sink in one database: two workers keep each row's order and apply
 * every event once; a conflict goes back to the engine's strategy; a transaction that dies in the
 * middle leaves nothing behind; a rejected event is dead with the server's reason; an event whose
 * payload the engine must prepare is handed back with the rest of its row.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { compareRowOrder, type QueuedEvent } from "../../src/core/event.ts";
import { Engine } from "../../src/core/engine.ts";
import { createMetrics } from "../../src/daemon/prometheus-metrics.ts";
import { systemClock } from "../../src/core/ports.ts";
import type { ConflictStrategy } from "../../src/core/conflict.ts";
import type { OneStatementBatchResult } from "../../src/core/one-statement-drain.ts";
import { PgClient } from "../../src/postgres/pg-client.ts";
import { PgSink } from "../../src/sinks/pg/pg-sink.ts";
import { openPostgresQueueStore, type PostgresQueueStore } from "../../src/stores/postgres/index.ts";
import type { PostgresOneStatementBatches } from "../../src/stores/postgres/one-statement/one-statement-batches.ts";
import { oneStatementParams, oneStatementSql } from "../../src/stores/postgres/one-statement/one-statement-sql.ts";
import { prng } from "../../src/sim/seeded-random.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";

const T0 = 1_700_000_000_000;

function event(id: string, entityId: string, payload: Record<string, unknown>, extra: Partial<QueuedEvent> = {}): QueuedEvent {
  return { id, type: "update", entity: "well", entityId, payload, timestamp: T0, status: "pending", retryCount: 0, ...extra };
}

describe.runIf(await realPgAvailable())("postgres queue: one-statement claim-apply-settle", () => {
  let db: TestDatabase;
  let sink: PgSink;
  let admin: pg.Client;
  const stores: PostgresQueueStore[] = [];
  let n = 0;

  beforeAll(async () => {
    db = await createTestDatabase("mudsync_pgq_one_statement");
    sink = new PgSink(new PgClient({ url: db.url }), { schema: "mudsync" });
    await sink.migrate();
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await sink?.close();
    await admin?.end();
    await db?.drop();
  });

  /** A fresh queue schema, and its one-statement drain over the sink schema `mudsync`. */
  async function open(owner = "w0", schema = `fq_${++n}`): Promise<{ store: PostgresQueueStore; batches: PostgresOneStatementBatches }> {
    const store = await openPostgresQueueStore({ url: db.url, schema, owner, poolSize: 2 });
    stores.push(store);
    const batches = await store.oneStatementWith("mudsync");
    if (!batches) throw new Error("apply_batch not found");
    return { store, batches };
  }

  const claim = (owner: string, limit = 1000) => ({ limit, leaseMs: 60_000, now: Date.now(), owner });

  it("is not offered when the sink schema is not installed in the queue's database", async () => {
    const { store } = await open();
    expect(await store.oneStatementWith("not_installed_here")).toBeUndefined();
    await expect(store.oneStatementWith("Bad-Name")).rejects.toThrow(/lower-case SQL identifier/);
  });

  it("locks its window by an ordered scan of the pending index that stops when full, not by sorting the queue", async () => {
    const schema = `fq_${++n}`;
    const { store } = await open("wp", schema);
    // enough for the store to analyze the table itself (bulk-analyze.ts): nobody runs ANALYZE here
    const events = Array.from({ length: 12_000 }, (_, i) => event(`hw-${i}`, `hw-row-${i % 997}`, { v: i }, { timestamp: T0 + i }));
    for (let i = 0; i < events.length; i += 2000) await store.enqueue(events.slice(i, i + 2000));
    const analyzed = await admin.query<{ n: number }>(
      "select count(*)::int as n from pg_stats where schemaname = $1 and tablename = 'events' and attname = 'status'", [schema],
    );
    expect(analyzed.rows[0]!.n).toBe(1);
    const { rows } = await admin.query<{ "QUERY PLAN": string }>(
      `explain ${oneStatementSql(schema, "mudsync")}`,
      oneStatementParams({ now: Date.now(), leaseMs: 60_000, owner: "wp", limit: 100 }),
    );
    const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
    for (const [from, to] of [["CTE win_mine", "CTE win_rest"], ["CTE win_rest", "CTE win_failed"]] as const) {
      const part = plan.slice(plan.indexOf(from), plan.indexOf(to));
      // (all pending: the list index orders them as well as the pending one)
      expect(part, part).toMatch(/Limit[^]*LockRows[^]*Index Scan using events_(pending_due|list) on events/);
      expect(part, part).not.toMatch(/Sort|Seq Scan|Bitmap/);
    }
  });

  it("two workers: every event applied once, rows applied in row order, one history entry each", async () => {
    const schema = `fq_${++n}`;
    const a = await open("wa", schema);
    const b = await open("wb", schema);
    const rand = prng(11);
    const seqs = new Map<string, number>();
    const events: QueuedEvent[] = Array.from({ length: 6000 }, (_, i) => {
      const clientId = `c${Math.floor(rand() * 3)}`;
      const seq = (seqs.get(clientId) ?? 0) + 1;
      seqs.set(clientId, seq);
      // timestamps jitter so a row's order (client, seq) is not time order
      return event(`f2-${String(i).padStart(5, "0")}`, `fr-${Math.floor(rand() * 50)}`, { [clientId]: seq, last: `${clientId}:${seq}` }, {
        clientId,
        seq,
        timestamp: T0 + i * 5 + Math.floor(rand() * 400),
      });
    });
    for (let i = 0; i < events.length; i += 1000) await a.store.enqueue(events.slice(i, i + 1000));

    const sizes: number[] = [];
    const work = async (w: { batches: PostgresOneStatementBatches }, owner: string) => {
      for (let idle = 0; idle < 5; ) {
        const r = await w.batches.claimApplySettle(claim(owner, 300));
        expect(r.handed).toEqual([]);
        if (r.settled.length === 0) {
          idle += 1;
          await new Promise((res) => setTimeout(res, 10));
        } else {
          idle = 0;
          sizes.push(r.settled.length);
        }
      }
    };
    await Promise.all([work(a, "wa"), work(b, "wb")]);

    expect(sizes.reduce((x, y) => x + y, 0)).toBe(events.length);
    expect(await a.store.counts()).toMatchObject({ completed: events.length, pending: 0, processing: 0, failed: 0, dead: 0 });
    const ids = events.map((e) => e.id);
    const ledger = await admin.query<{ n: string }>("select count(*) as n from mudsync.applied_events where event_id = any($1) and outcome = 'applied'", [ids]);
    expect(ledger.rows[0]!.n).toBe(String(events.length));

    // per row, the server applied the events in row order: each one's version follows the previous one's
    const stored = new Map(((await a.store.getMany(ids)) as QueuedEvent[]).map((e) => [e.id, e]));
    const byRow = new Map<string, QueuedEvent[]>();
    for (const e of events) byRow.set(e.entityId, [...(byRow.get(e.entityId) ?? []), e]);
    for (const [row, evs] of byRow) {
      const versions = [...evs].sort(compareRowOrder).map((e) => stored.get(e.id)?.appliedVersion);
      expect(versions, row).toEqual(versions.map((_, i) => i + 1));
    }

    // each row's document is the fold of its events in row order
    const docs = await admin.query<{ id: string; doc: Record<string, unknown> }>("select id, doc from mudsync.wells where id like 'fr-%'");
    const expected = new Map<string, Record<string, unknown>>();
    for (const e of [...events].sort(compareRowOrder)) expected.set(e.entityId, { ...(expected.get(e.entityId) ?? {}), ...e.payload });
    for (const r of docs.rows) expect(r.doc, r.id).toEqual(expected.get(r.id));

    const sample = (await a.store.getMany(ids.slice(0, 50))) as QueuedEvent[];
    for (const e of sample) {
      expect(e).toMatchObject({ status: "completed", outcome: "applied" });
      expect(e.appliedVersion).toBeGreaterThan(0);
      expect(e.leaseOwner).toBeUndefined();
      const history = await a.store.history(e.id);
      expect(history).toHaveLength(1);
      expect(history[0]).toMatchObject({ from: "pending", to: "completed" });
      expect(history[0]!.note).toMatch(/^completed: applied v\d+ \(claimed, applied and settled by w[ab] in one transaction\)$/);
    }
  }, 120_000);

  async function drainWith(store: PostgresQueueStore, batches: PostgresOneStatementBatches, strategy: ConflictStrategy) {
    const metrics = createMetrics();
    const engine = new Engine({
      store,
      sink,
      clock: systemClock,
      metrics,
      oneStatement: batches,
      settings: {
        batchSize: 100,
        coalesce: true,
        leaseMs: 60_000,
        owner: "engine",
        retry: { baseMs: 10, maxMs: 100, jitter: 0, maxAttempts: 3 },
        strategyFor: () => strategy,
      },
    });
    return { summary: await engine.drain(), metrics };
  }

  it("hands a conflict back leased with its result; the engine's strategy settles it", async () => {
    const { store, batches } = await open("wc");
    const [seeded] = await sink.applyBatch([{ id: "fc-seed", type: "add", entity: "well", entityId: "fc-1", payload: { v: "server" }, timestamp: T0 }]);
    expect(seeded!.outcome).toBe("applied");
    await store.enqueue([
      event("fc-a", "fc-1", { v: "stale" }, { baseVersion: 0, seq: 1, clientId: "c" }),
      event("fc-b", "fc-2", { v: "fine" }),
    ]);
    const r: OneStatementBatchResult = await batches.claimApplySettle(claim("wc"));
    expect(r.settled.map((s) => [s.id, s.outcome])).toEqual([["fc-b", "applied"]]);
    expect(r.handed).toHaveLength(1);
    expect(r.handed[0]!.event).toMatchObject({ id: "fc-a", status: "processing", leaseOwner: "wc" });
    expect(r.handed[0]!.result).toMatchObject({ id: "fc-a", outcome: "conflict" });
    expect(await store.history("fc-a")).toMatchObject([{ from: "pending", to: "processing", note: "claimed by wc" }]);
  });

  it("through the engine: remote-wins drops the conflicting edit, local-wins re-applies it on the new version", async () => {
    for (const [strategy, expected] of [
      ["remote-wins", { status: "completed", outcome: "conflict" }],
      ["local-wins", { status: "completed", outcome: "applied" }],
    ] as const) {
      const { store, batches } = await open("we");
      const row = `fe-${strategy}`;
      await sink.applyBatch([{ id: `${row}-seed`, type: "add", entity: "well", entityId: row, payload: { v: "server" }, timestamp: T0 }]);
      await store.enqueue([event(`${row}-e`, row, { v: "local" }, { baseVersion: 0 }), event(`${row}-other`, `${row}-x`, { v: 1 })]);
      const { summary, metrics } = await drainWith(store, batches, strategy);
      expect(await store.get(`${row}-e`)).toMatchObject(expected);
      expect(await store.get(`${row}-other`)).toMatchObject({ status: "completed", outcome: "applied" });
      expect(summary.left).toMatchObject({ pending: 0, processing: 0, failed: 0 });
      expect(summary.conflicts[strategy === "remote-wins" ? "dropped" : "resubmitted"]).toBe(1);
      expect((await metrics.conflicts.get()).values.reduce((a, v) => a + v.value, 0)).toBe(1);
      const doc = await sink.getRow("well", row);
      expect(doc?.data).toEqual({ v: strategy === "remote-wins" ? "server" : "local" });
    }
  });

  it("a transaction that dies in the middle leaves every event as it was; the next one drains them", async () => {
    const { store, batches } = await open("crash");
    await sink.applyBatch([{ id: "fx-seed", type: "add", entity: "well", entityId: "fx-1", payload: { v: 0 }, timestamp: T0 }]);
    await store.enqueue([event("fx-a", "fx-0", { v: 1 }), event("fx-b", "fx-1", { v: 2 }), event("fx-c", "fx-2", { v: 3 })]);

    // another session holds row fx-1, so the one-statement transaction waits inside apply_batch
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query("select 1 from mudsync.wells where id = 'fx-1' for update");
      const pending = batches.claimApplySettle(claim("crash")).then(
        () => "settled",
        (err: Error) => err.message,
      );
      let pid: number | undefined;
      for (let i = 0; i < 200 && pid === undefined; i++) {
        const { rows } = await admin.query<{ pid: number }>(
          "select pid from pg_stat_activity where application_name = 'mudsync-queue:crash' and wait_event_type = 'Lock'",
        );
        pid = rows[0]?.pid;
        if (pid === undefined) await new Promise((r) => setTimeout(r, 25));
      }
      expect(pid).toBeDefined();
      await admin.query("select pg_terminate_backend($1)", [pid]);
      expect(await pending).toMatch(/terminat/);
    } finally {
      await holder.query("rollback").catch(() => {});
      await holder.end();
    }

    for (const id of ["fx-a", "fx-b", "fx-c"]) {
      expect(await store.get(id)).toMatchObject({ status: "pending" });
      expect(await store.get(id)).not.toHaveProperty("leaseOwner");
      expect(await store.history(id)).toEqual([]);
    }
    const ledger = await admin.query("select 1 from mudsync.applied_events where event_id in ('fx-a', 'fx-b', 'fx-c')");
    expect(ledger.rows).toEqual([]);

    const again = await batches.claimApplySettle(claim("crash"));
    expect(again.settled.map((s) => s.id).sort()).toEqual(["fx-a", "fx-b", "fx-c"]);
    expect(await store.counts()).toMatchObject({ completed: 3, pending: 0, processing: 0 });
  });

  it("a rejected event is dead with the server's reason; the others are applied; counters and metrics agree", async () => {
    const { store, batches } = await open("wr");
    await store.enqueue([
      event("fr-bad", "r-1", { v: 1 }, { entity: "no_such_entity" }),
      event("fr-ok", "r-2", { v: 2 }),
      event("fr-after", "r-1", { v: 3 }, { entity: "no_such_entity", timestamp: T0 + 1 }),
    ]);
    const { summary, metrics } = await drainWith(store, batches, "local-wins");
    const bad = await store.get("fr-bad");
    expect(bad).toMatchObject({ status: "dead", outcome: "rejected" });
    expect(bad!.lastError).toMatch(/^rejected: .*unknown entity/);
    expect(bad!.deadAt).toBeGreaterThan(0);
    expect(await store.get("fr-ok")).toMatchObject({ status: "completed", outcome: "applied" });
    expect(await store.get("fr-after")).toMatchObject({ status: "dead", outcome: "rejected" });
    expect(summary).toMatchObject({ settled: 3, applied: 1, rejected: 2, dead: 2, roundTrips: 1, wireEvents: 3 });
    expect((await metrics.rejected.get()).values[0]!.value).toBe(2);
    expect((await metrics.dead.get()).values[0]!.value).toBe(2);
    expect((await metrics.eventsApplied.get()).values[0]!.value).toBe(1);
    expect((await metrics.enqueueToApplied.get()).values.find((v) => v.metricName?.endsWith("_count"))!.value).toBe(1);
    expect(await store.history("fr-bad")).toMatchObject([{ from: "pending", to: "dead" }]);
  });

  it("an event whose payload the engine must prepare goes back unsent with the rest of its row, and the engine applies them in order", async () => {
    const { store, batches } = await open("wt");
    await store.enqueue([
      event("ft-1", "t-1", { keep: 1, gone: 0 }, { $types: { "payload.gone": "undef" }, clientId: "c", seq: 1 } as Partial<QueuedEvent>),
      event("ft-2", "t-1", { keep: 2 }, { clientId: "c", seq: 2 }),
      event("ft-3", "t-2", { keep: 3 }),
    ]);
    const r = await batches.claimApplySettle(claim("wt"));
    expect(r.settled.map((s) => s.id)).toEqual(["ft-3"]);
    expect(r.handed.map((h) => [h.event.id, h.result])).toEqual([
      ["ft-1", undefined],
      ["ft-2", undefined],
    ]);
    expect(r.wireEvents).toBe(1);
    for (const h of r.handed) expect(h.event).toMatchObject({ status: "processing", leaseOwner: "wt" });
    // the engine, handed the same kind of events by a one-statement drain, applies and settles them
    await store.put([event("ft-4", "t-3", { keep: 4, gone: 0 }, { $types: { "payload.gone": "undef" } } as Partial<QueuedEvent>)]);
    const { summary } = await drainWith(store, batches, "local-wins");
    expect(summary.applied).toBe(1);
    expect((await sink.getRow("well", "t-3"))?.data).toEqual({ keep: 4 });
    // ft-1 and ft-2 are leased to "wt" (not the engine's owner) until their lease expires
    expect(await store.get("ft-1")).toMatchObject({ status: "processing", leaseOwner: "wt" });
  });

  it("rows of one client keep their order when several one-statement calls and row keys interleave", async () => {
    const { store, batches } = await open("wo");
    const evs = Array.from({ length: 40 }, (_, i) =>
      event(`fo-${i}`, `o-${i % 4}`, { n: i }, { clientId: "c", seq: i + 1, timestamp: T0 + (40 - i) }),
    );
    await store.enqueue(evs);
    const order: string[] = [];
    for (;;) {
      const r = await batches.claimApplySettle(claim("wo", 7));
      if (r.settled.length === 0) break;
      order.push(...r.settled.map((s) => s.id));
    }
    expect(order).toHaveLength(40);
    for (let row = 0; row < 4; row++) {
      const ids = order.filter((id) => Number(id.slice("fo-".length)) % 4 === row);
      expect(ids).toEqual(evs.filter((_, i) => i % 4 === row).map((e) => e.id));
    }
  });
});
