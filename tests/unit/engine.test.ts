import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Engine, type EngineHooks } from "../../src/core/engine.ts";
import type { ConflictStrategy } from "../../src/core/conflict.ts";
import { compareRowOrder, type QueuedEvent } from "../../src/core/event.ts";
import { RetryableSinkError, SinkSetupError, SinkUnreachableError } from "../../src/errors.ts";
import {
  FakeClock,
  applyToModel,
  createModel,
  eventsArbitrary,
  makeEvent,
  modelSnapshot,
  type ModelState,
} from "../helpers/fakes.ts";
import { MemoryQueueStore } from "../helpers/memory-queue-store.ts";
import { ModelSink } from "../helpers/model-sink.ts";

function setup(opts: { batchSize?: number; coalesce?: boolean; strategy?: ConflictStrategy; hooks?: EngineHooks; maxAttempts?: number } = {}) {
  const clock = new FakeClock();
  const store = new MemoryQueueStore();
  const sink = new ModelSink();
  const engine = new Engine({
    store,
    sink,
    clock,
    hooks: opts.hooks,
    settings: {
      batchSize: opts.batchSize ?? 100,
      coalesce: opts.coalesce ?? true,
      leaseMs: 30_000,
      owner: "test",
      retry: { baseMs: 1000, maxMs: 30_000, jitter: 0, maxAttempts: opts.maxAttempts ?? 10 },
      strategyFor: () => opts.strategy ?? "manual",
    },
  });
  return { clock, store, sink, engine };
}

const ev = (id: string, p: Partial<QueuedEvent> = {}) => makeEvent({ id, timestamp: 1_700_000_000_000 - 1000 + Number(id.replace(/\D/g, "") || 0), ...p });

describe("Engine.drain", () => {
  it("applies every event and ends with the same rows as applying them one by one", async () => {
    await fc.assert(
      fc.asyncProperty(eventsArbitrary, fc.integer({ min: 1, max: 7 }), fc.boolean(), async (generated, batchSize, coalesce) => {
        // Claims take a row's events in timestamp order and batches order them by (clientId, seq,
        // timestamp); for one client these agree. Give the events timestamps in row order.
        const events = [...generated].sort(compareRowOrder).map((e, i) => ({ ...e, timestamp: 1_000 + i }));
        const { store, sink, engine } = setup({ batchSize, coalesce });
        await store.enqueue(events.map((e) => ({ ...e, retryCount: 0 })));
        const summary = await engine.drain();
        const reference = createModel();
        for (const e of [...events].sort(compareRowOrder)) {
          applyToModel(reference, { id: e.id, type: e.type, entity: e.entity, entityId: e.entityId, payload: e.payload, timestamp: e.timestamp, ...(e.clientId ? { clientId: e.clientId } : {}), ...(e.seq !== undefined ? { seq: e.seq } : {}) });
        }
        expect(modelSnapshot(sink.model)).toEqual(modelSnapshot(reference));
        expect(summary.settled).toBe(events.length);
        expect(summary.left).toMatchObject({ pending: 0, processing: 0, failed: 0 });
        // every event id is recorded server-side, coalesced ones included
        for (const e of events) expect(sink.model.applied.has(e.id)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it("coalesces consecutive edits of a row into one write and records the folded events as coalesced", async () => {
    const { store, sink, engine } = setup({ coalesce: true });
    await store.enqueue([
      ev("e1", { entityId: "w1", payload: { a: 1 } }),
      ev("e2", { entityId: "w1", payload: { b: 2 } }),
      ev("e3", { entityId: "w1", payload: { a: 3 } }),
    ]);
    const s = await engine.drain();
    expect(s).toMatchObject({ applied: 3, coalesced: 2, wireEvents: 1, roundTrips: 1 });
    expect(sink.model.rows.get("well:w1")?.data).toEqual({ a: 3, b: 2 });
    expect(await store.get("e1")).toMatchObject({ status: "completed", outcome: "coalesced", appliedVersion: 1 });
    expect(await store.get("e3")).toMatchObject({ status: "completed", outcome: "applied", appliedVersion: 1 });
  });

  it("never sends a later edit of a row before an earlier one, across batches", async () => {
    const { store, sink, engine } = setup({ batchSize: 2, coalesce: false });
    await store.enqueue([
      ev("e1", { entityId: "w1", type: "add", payload: { a: 1 } }),
      ev("e2", { entityId: "w2", type: "add" }),
      ev("e3", { entityId: "w1", payload: { a: 2 } }),
      ev("e4", { entityId: "w1", type: "remove" }),
    ]);
    await engine.drain();
    const sent = sink.batches.flat().map((w) => w.id);
    expect(sent.indexOf("e1")).toBeLessThan(sent.indexOf("e3"));
    expect(sent.indexOf("e3")).toBeLessThan(sent.indexOf("e4"));
    expect(sink.model.rows.get("well:w1")?.data).toBeNull();
  });

  it("retries a retryable failure when due, with persisted backoff, then applies", async () => {
    const { clock, store, sink, engine } = setup();
    await store.enqueue([ev("e1", { type: "add", payload: { a: 1 } })]);
    sink.failNext = { error: new RetryableSinkError("connection reset", "ECONNRESET"), times: 2 };
    const first = await engine.drain();
    expect(first.retried).toBe(1);
    const failed = await store.get("e1");
    expect(failed).toMatchObject({ status: "failed", attempts: 1, lastError: expect.stringContaining("connection reset") });
    expect(failed?.nextAttemptAt).toBe(clock.now() + 1000);
    // not due yet: nothing is claimed
    expect((await engine.drain()).roundTrips).toBe(1);
    await clock.advance(1000);
    await engine.drain();
    expect((await store.get("e1"))?.nextAttemptAt).toBe(clock.now() + 2000); // second failure doubles
    await clock.advance(2000);
    const last = await engine.drain();
    expect(last.left?.completed).toBe(1);
    expect(await store.get("e1")).toMatchObject({ status: "completed", outcome: "applied", appliedVersion: 1 });
  });

  it("waits for retry times with --wait and finishes", async () => {
    const { clock, store, sink, engine } = setup();
    await store.enqueue([ev("e1", { type: "add" })]);
    sink.failNext = { error: new RetryableSinkError("timeout"), times: 1 };
    const run = engine.drain({ wait: true, pollMs: 100 });
    await clock.untilSleeping();
    for (let i = 0; i < 15 && clock.sleeping > 0; i++) await clock.advance(100);
    const summary = await run;
    expect(summary.left?.completed).toBe(1);
  });

  it("moves an event to dead after max attempts", async () => {
    const { clock, store, sink, engine } = setup({ maxAttempts: 2 });
    await store.enqueue([ev("e1", { type: "add" })]);
    sink.failNext = { error: new RetryableSinkError("down"), times: 5 };
    await engine.drain();
    await clock.advance(60_000);
    const s = await engine.drain();
    expect(s.dead).toBe(1);
    expect(await store.get("e1")).toMatchObject({ status: "dead", attempts: 2 });
  });

  it("isolates the event that makes a whole batch fail permanently; the rest apply", async () => {
    const { store, sink, engine } = setup({ batchSize: 8, coalesce: false });
    await store.enqueue(Array.from({ length: 8 }, (_, i) => ev(`e${i}`, { entityId: `w${i}`, type: "add" })));
    sink.poison.add("e5");
    const s = await engine.drain();
    expect(s.dead).toBe(1);
    expect(s.applied).toBe(7);
    expect(await store.get("e5")).toMatchObject({ status: "dead", lastError: expect.stringContaining("22P02") });
  });

  it("stops on a server that is not set up, leaving every event as it was", async () => {
    const { store, sink, engine } = setup({ batchSize: 2, coalesce: false });
    await store.enqueue(Array.from({ length: 5 }, (_, i) => ev(`e${i}`, { entityId: `w${i}`, type: "add" })));
    sink.failNext = { error: new SinkSetupError('schema "mudsync" is not installed; run `mudsync db migrate` first', "3F000"), times: 1 };
    await expect(engine.drain()).rejects.toBeInstanceOf(SinkSetupError);
    expect(sink.batches).toHaveLength(1); // no bisecting, no further batches
    expect(await store.counts()).toMatchObject({ pending: 5, processing: 0, dead: 0, failed: 0 });
    expect((await store.get("e0"))?.attempts).toBeUndefined();
  });

  it("stops on an unreachable server: batches applied before stay settled, the rest are given back without an attempt", async () => {
    const { store, sink, engine } = setup({ batchSize: 2, coalesce: false });
    await store.enqueue(Array.from({ length: 6 }, (_, i) => ev(`e${i}`, { entityId: `w${i}`, type: "add" })));
    const apply = sink.applyBatch.bind(sink);
    let calls = 0;
    sink.applyBatch = async (events) => {
      calls += 1;
      if (calls >= 2) throw new SinkUnreachableError("pg sink: connect ECONNREFUSED 127.0.0.1:5999", "ECONNREFUSED");
      return apply(events);
    };
    await expect(engine.drain()).rejects.toBeInstanceOf(SinkUnreachableError);
    expect(calls).toBe(2); // no bisecting, no further batches
    expect(await store.counts()).toMatchObject({ completed: 2, pending: 4, processing: 0, failed: 0, dead: 0 });
    for (const id of ["e2", "e3", "e4", "e5"]) {
      const e = await store.get(id);
      expect(e?.attempts).toBeUndefined();
      expect(e?.lastError).toBeUndefined();
      expect(e?.nextAttemptAt).toBeUndefined();
    }
    // the same engine drains the rest once the server answers again
    sink.applyBatch = apply;
    const s = await engine.drain();
    expect(s.applied).toBe(6);
    expect(await store.counts()).toMatchObject({ completed: 6, pending: 0 });
  });

  it("a failed head blocks only its own row", async () => {
    const { store, sink, engine } = setup({ batchSize: 1, coalesce: false });
    await store.enqueue([ev("e1", { entityId: "w1", type: "add" }), ev("e2", { entityId: "w1" }), ev("e3", { entityId: "w2", type: "add" })]);
    sink.failNext = { error: new RetryableSinkError("blip"), times: 1 };
    await engine.drain();
    expect((await store.get("e1"))?.status).toBe("failed");
    expect((await store.get("e2"))?.status).toBe("pending"); // never sent ahead of e1
    expect((await store.get("e3"))?.status).toBe("completed"); // another row is not held up
    expect(sink.batches.flat().map((w) => w.id)).not.toContain("e2");
  });

  it("marks rejected events dead with the reason and keeps going", async () => {
    const { store, engine } = setup();
    await store.enqueue([ev("e1", { entity: "annotation", type: "add" }), ev("e2", { type: "add" })]);
    const s = await engine.drain();
    expect(s.rejected).toBe(1);
    expect(await store.get("e1")).toMatchObject({ status: "dead", outcome: "rejected", lastError: expect.stringContaining("unknown entity") });
    expect((await store.get("e2"))?.status).toBe("completed");
  });

  it("reports duplicates for events the server already applied", async () => {
    const { store, sink, engine } = setup();
    applyToModel(sink.model, { id: "e1", type: "add", entity: "well", entityId: "w1", payload: {}, timestamp: 1 });
    await store.enqueue([ev("e1", { type: "add", retryCount: 1 })]);
    const s = await engine.drain();
    expect(s.duplicates).toBe(1);
    expect(await store.get("e1")).toMatchObject({ status: "completed", outcome: "duplicate" });
  });

  it("quarantines a failed event whose row already has a later applied edit, unless it was replayed", async () => {
    const { store, sink, engine } = setup();
    await store.enqueue([
      ev("e1", { entityId: "w1", type: "remove", status: "failed", retryCount: 2 }),
      ev("e2", { entityId: "w1", type: "add", payload: { v: 2 }, status: "completed" }),
      ev("e3", { entityId: "w2", type: "remove", status: "failed", retryCount: 1 }),
    ]);
    const s = await engine.drain();
    expect(s.superseded).toBe(1);
    expect(await store.get("e1")).toMatchObject({ status: "dead", lastError: expect.stringContaining("superseded: event e2") });
    expect(sink.batches.flat().map((w) => w.id)).toEqual(["e3"]);
    await store.update([{ id: "e1", changes: { status: "pending", replayedAt: 1 } }]);
    await engine.drain();
    expect(sink.batches.flat().map((w) => w.id)).toEqual(["e3", "e1"]);
  });

  it("judges supersession by the row's order within one client, not by timestamp or id", async () => {
    const { store, sink, engine } = setup({ coalesce: false });
    await store.enqueue([
      // same timestamp: seq decides; "c-10" sorts before "c-9" as text but comes after it
      ev("c-9", { entityId: "w1", clientId: "c", seq: 9, timestamp: 5, status: "failed", retryCount: 1 }),
      ev("c-10", { entityId: "w1", clientId: "c", seq: 10, timestamp: 5, status: "completed" }),
      // another client's later edit does not supersede
      ev("a-1", { entityId: "w2", clientId: "a", seq: 1, timestamp: 1, status: "failed", retryCount: 1 }),
      ev("b-1", { entityId: "w2", clientId: "b", seq: 1, timestamp: 2, status: "completed" }),
      // a later seq of the same client supersedes, whatever the timestamps say
      ev("d-2", { entityId: "w3", clientId: "d", seq: 2, timestamp: 1, status: "failed", retryCount: 1 }),
      ev("d-3", { entityId: "w3", clientId: "d", seq: 3, timestamp: 0, status: "completed" }),
    ]);
    const s = await engine.drain();
    expect(s.superseded).toBe(2);
    expect((await store.get("c-9"))?.lastError).toContain("superseded: event c-10");
    expect((await store.get("d-2"))?.lastError).toContain("superseded: event d-3");
    expect(sink.batches.flat().map((w) => w.id)).toEqual(["a-1"]);
  });

  it("reclaims events whose lease expired (crashed worker)", async () => {
    const { clock, store, engine } = setup();
    await store.enqueue([ev("e1", { type: "add", status: "processing", leaseUntil: clock.now() - 1, leaseOwner: "dead-worker" })]);
    const s = await engine.drain();
    expect(s.applied).toBe(1);
  });

  it("never applies again an event it still holds when a stall outlasts the leases of the prefetched claim", async () => {
    const { clock, store, sink, engine } = setup({ batchSize: 2 });
    await store.enqueue(["w1", "w2", "w3", "w4", "w5", "w6"].map((id) => ev(id, { type: "add", entity: "well", entityId: id, payload: { id } })));
    // the first batch takes 40 s (a stalled server, or a store busy compacting): the batch claimed
    // ahead of it, leased for 30 s, has expired by the time the engine claims the next one
    const apply = sink.applyBatch.bind(sink);
    sink.applyBatch = async (events) => {
      if (sink.batches.length === 0) await clock.advance(40_000);
      return apply(events);
    };
    const s = await engine.drain();
    const sent = sink.batches.flat().map((w) => w.id);
    expect(sent.sort()).toEqual(["w1", "w2", "w3", "w4", "w5", "w6"]);
    expect(s.applied).toBe(6);
    expect(s.duplicates).toBe(0);
    expect(s.lostLeases).toBe(0);
    expect(s.left?.completed).toBe(6);
  });

  it("step() that fails leaves its events leased, and claims them again once the lease expires", async () => {
    const { clock, store, sink, engine } = setup();
    await store.enqueue([ev("w1", { type: "add", entity: "well", entityId: "w1", payload: { id: "w1" } })]);
    sink.failNext = { error: new SinkSetupError("schema mudsync is missing"), times: 1 };
    await expect(engine.step()).rejects.toThrow(SinkSetupError);
    expect(await engine.step()).toBe(0);
    await clock.advance(30_000);
    expect(await engine.step()).toBe(1);
    expect((await store.get("w1"))?.status).toBe("completed");
  });

  it("leaves events under another worker's live lease alone", async () => {
    const { clock, store, engine } = setup();
    await store.enqueue([ev("e1", { type: "add", status: "processing", leaseUntil: clock.now() + 10_000, leaseOwner: "other" })]);
    const s = await engine.drain();
    expect(s.settled).toBe(0);
    expect(s.left?.processing).toBe(1);
  });
});

describe("Engine.drain when the store fails behind the batch in flight", () => {
  it("a prefetched claim that fails while a batch is applied fails the drain, not the process", async () => {
    const t = setup({ batchSize: 1 });
    await t.store.enqueue([ev("e1", { entityId: "w1" }), ev("e2", { entityId: "w2" })]);
    const claim = t.store.claim.bind(t.store);
    let claims = 0;
    t.store.claim = async (o) => {
      claims += 1;
      if (claims === 2) throw new Error("could not serialize access (40001)");
      return claim(o);
    };
    const apply = t.sink.applyBatch.bind(t.sink);
    t.sink.applyBatch = async (events) => {
      await new Promise((r) => setTimeout(r, 20)); // the prefetched claim fails meanwhile
      return apply(events);
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      await expect(t.engine.drain()).rejects.toThrow("could not serialize access");
      await new Promise((r) => setTimeout(r, 10));
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });
});

describe("Engine conflicts", () => {
  async function conflicted(strategy: ConflictStrategy, hooks?: EngineHooks) {
    const t = setup({ strategy, hooks });
    applyToModel(t.sink.model, { id: "r1", type: "add", entity: "well", entityId: "w1", payload: { a: 1, b: 1 }, timestamp: 1 });
    applyToModel(t.sink.model, { id: "r2", type: "update", entity: "well", entityId: "w1", payload: { b: 2 }, timestamp: 2 });
    await t.store.enqueue([ev("e1", { baseVersion: 1, payload: { a: 9 } })]);
    return t;
  }

  it("a client's later edits made before its earlier ones landed are sent as made on the versions those wrote", async () => {
    const t = setup({ strategy: "manual", batchSize: 1, coalesce: false });
    applyToModel(t.sink.model, { id: "r1", type: "add", entity: "well", entityId: "w1", payload: { a: 1 }, timestamp: 1 });
    // three edits made while the client had seen v1, one batch each
    await t.store.enqueue([1, 2, 3].map((n) => ev(`e${n}`, { entityId: "w1", type: "update", clientId: "tab", seq: n, baseVersion: 1, payload: { [`f${n}`]: n } })));
    const s = await t.engine.drain();
    expect(s.conflicts.parked).toBe(0);
    expect(s.applied).toBe(3);
    expect(t.sink.model.rows.get("well:w1")).toEqual({ version: 4, data: { a: 1, f1: 1, f2: 2, f3: 3 } });
    // another writer between them breaks the run: the client's next edit on v1 conflicts again
    applyToModel(t.sink.model, { id: "r2", type: "update", entity: "well", entityId: "w1", payload: { a: 2 }, timestamp: 5 });
    await t.store.enqueue([ev("e4", { entityId: "w1", type: "update", clientId: "tab", seq: 4, baseVersion: 1, payload: { f4: 4 } })]);
    expect((await t.engine.drain()).conflicts.parked).toBe(1);
  });

  it("a deferred edit goes back to pending without an attempt and is applied on the next pass", async () => {
    const t = setup({ strategy: "manual" });
    await t.store.enqueue([ev("e1", { entityId: "w1", type: "add", clientId: "tab", seq: 1, payload: { a: 1 } })]);
    const apply = t.sink.applyBatch.bind(t.sink);
    let first = true;
    t.sink.applyBatch = async (events) => {
      if (!first) return apply(events);
      first = false;
      return events.map((e) => ({ id: e.id, outcome: "deferred" as const }));
    };
    const held = await t.engine.step();
    expect(held).toBe(1);
    expect(await t.store.get("e1")).toMatchObject({ status: "pending", retryCount: 0 });
    expect((await t.store.get("e1"))?.attempts ?? 0).toBe(0);
    const s = await t.engine.drain();
    expect(s.applied).toBe(1);
    expect(await t.store.get("e1")).toMatchObject({ status: "completed", outcome: "applied" });
  });

  it("local-wins re-applies the edit on the current version", async () => {
    const { store, sink, engine } = await conflicted("local-wins");
    const s = await engine.drain();
    expect(s.conflicts.resubmitted).toBe(1);
    expect(sink.model.rows.get("well:w1")).toEqual({ version: 3, data: { a: 9, b: 2 } });
    expect(await store.get("e1")).toMatchObject({ status: "completed", baseVersion: 2 });
  });

  it("remote-wins drops the edit and asks for an optimistic rollback", async () => {
    const rolledBack: string[] = [];
    const { store, sink, engine } = await conflicted("remote-wins", { onRollback: (e) => rolledBack.push(e.id) });
    const s = await engine.drain();
    expect(s.conflicts.dropped).toBe(1);
    expect(rolledBack).toEqual(["e1"]);
    expect(sink.model.rows.get("well:w1")?.data).toEqual({ a: 1, b: 2 });
    expect(await store.get("e1")).toMatchObject({ status: "completed", outcome: "conflict" });
  });

  it("manual parks the event for a person and leaves it dead (not drained)", async () => {
    const audits: string[] = [];
    const { store, sink, engine } = await conflicted("manual", { onConflict: (a) => audits.push(a.decision) });
    const s = await engine.drain();
    expect(s.conflicts.parked).toBe(1);
    expect(sink.parked.map((p) => p.event.id)).toEqual(["e1"]);
    expect(audits).toEqual(["park"]);
    expect(await store.get("e1")).toMatchObject({ status: "dead", outcome: "conflict" });
  });

  it("merge keeps remote changes to other fields and applies the local one", async () => {
    const { sink, engine } = await conflicted("merge");
    await engine.drain();
    expect(sink.model.rows.get("well:w1")?.data).toEqual({ a: 9, b: 2 });
  });
});

describe("Engine stop", () => {
  it("finishes the batch in flight and releases prefetched claims when aborted", async () => {
    const { store, sink, engine } = setup({ batchSize: 2, coalesce: false });
    await store.enqueue(Array.from({ length: 6 }, (_, i) => ev(`e${i}`, { entityId: `w${i}`, type: "add" })));
    const stop = new AbortController();
    const original = sink.applyBatch.bind(sink);
    sink.applyBatch = async (events) => {
      stop.abort();
      return original(events);
    };
    const s = await engine.drain({ signal: stop.signal });
    expect(s.settled).toBe(2);
    const counts = await store.counts();
    expect(counts.completed).toBe(2);
    expect(counts.pending).toBe(4);
    expect(counts.processing).toBe(0);
  });
});
