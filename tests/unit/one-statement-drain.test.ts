/**
 * The engine on the one-statement drain (core/one-statement-drain.ts), over an in-memory stand-in
 * for a store's one-statement transaction: what the transaction settled is counted once (summary,
 * metrics, hook), what it hands back is settled by the engine (applied first when it has no
 * result), and a transaction that fails sends the rest of the pass down the leased path.
 */
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine.ts";
import { toWireEvent } from "../../src/core/coalesce.ts";
import type { QueuedEvent } from "../../src/core/event.ts";
import type { OneStatementBatchResult, OneStatementBatches } from "../../src/core/one-statement-drain.ts";
import { createMetrics } from "../../src/daemon/prometheus-metrics.ts";
import type { ApplyResult, ClaimOptions, Sink, WireEvent } from "../../src/core/ports.ts";
import { FakeClock, applyBatchToModel, createModel, makeEvent, type ModelState } from "../helpers/fakes.ts";
import { MemoryQueueStore } from "../helpers/memory-queue-store.ts";

class ModelSink implements Sink {
  readonly name = "model";
  readonly capabilities = { supportsTransactions: true, supportsListen: false, supportsDryRun: false };
  readonly batches: WireEvent[][] = [];
  constructor(readonly model: ModelState) {}
  async applyBatch(events: WireEvent[]): Promise<ApplyResult[]> {
    this.batches.push(events);
    return applyBatchToModel(this.model, events);
  }
  async dryRun(): Promise<never> {
    throw new Error("not supported");
  }
  async getRow() {
    return null;
  }
  async close() {}
}

/** Claim, apply and settle against the same model, as one step; `hold` ids go back unsent. */
class ModelOneStatement implements OneStatementBatches {
  calls = 0;
  failures = 0;
  hold = new Set<string>();
  constructor(
    private readonly store: MemoryQueueStore,
    private readonly model: ModelState,
  ) {}
  async claimApplySettle(o: ClaimOptions): Promise<OneStatementBatchResult> {
    this.calls += 1;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error("connection lost");
    }
    const claimed = await this.store.claim(o);
    const sent = claimed.filter((e) => !this.hold.has(e.id));
    const results = new Map(applyBatchToModel(this.model, sent.map(toWireEvent)).map((r) => [r.id, r]));
    const out: OneStatementBatchResult = { settled: [], handed: [], wireEvents: sent.length };
    for (const e of claimed) {
      const r = results.get(e.id);
      if (r && (r.outcome === "applied" || r.outcome === "duplicate")) {
        await this.store.update([{ id: e.id, changes: { status: "completed", outcome: r.outcome, leaseOwner: undefined, leaseUntil: undefined } }]);
        out.settled.push({ id: e.id, outcome: r.outcome, timestamp: e.timestamp, ...(r.version !== undefined ? { version: r.version } : {}) });
      } else {
        out.handed.push(r ? { event: e, result: r } : { event: e });
      }
    }
    return out;
  }
}

function setup() {
  const clock = new FakeClock();
  const store = new MemoryQueueStore();
  const model = createModel();
  const sink = new ModelSink(model);
  const oneStatement = new ModelOneStatement(store, model);
  const metrics = createMetrics();
  const settledIds: string[] = [];
  const engine = new Engine({
    store,
    sink,
    clock,
    metrics,
    oneStatement,
    hooks: { onOneStatementSettled: (id, c) => settledIds.push(`${id}:${c.status}:${c.appliedVersion ?? "-"}`) },
    settings: {
      batchSize: 2,
      coalesce: true,
      leaseMs: 30_000,
      owner: "test",
      retry: { baseMs: 1000, maxMs: 30_000, jitter: 0, maxAttempts: 10 },
      strategyFor: () => "local-wins",
    },
  });
  return { clock, store, sink, oneStatement, metrics, engine, settledIds };
}

const ev = (id: string, p: Partial<QueuedEvent> = {}) => makeEvent({ id, entityId: id, ...p });

describe("Engine on the one-statement drain", () => {
  it("counts what the transactions settled once, in the summary, the metrics and the hook", async () => {
    const { store, sink, oneStatement, metrics, engine, settledIds } = setup();
    await store.enqueue([ev("a"), ev("b"), ev("c")]);
    const s = await engine.drain();
    expect(s).toMatchObject({ settled: 3, applied: 3, roundTrips: 2, wireEvents: 3, left: { pending: 0, processing: 0 } });
    expect(sink.batches).toEqual([]); // nothing went through the sink port itself
    expect(oneStatement.calls).toBe(3); // two batches, then one that finds nothing
    expect(settledIds).toEqual(["a:completed:1", "b:completed:1", "c:completed:1"]);
    expect((await metrics.eventsApplied.get()).values[0]!.value).toBe(3);
    expect((await metrics.roundTrips.get()).values[0]!.value).toBe(2);
  });

  it("settles handed conflicts by strategy and applies handed events that have no result", async () => {
    const { store, sink, oneStatement, engine } = setup();
    // v1 of row r exists; "stale" edits it against v0 and conflicts; "held" goes back unsent
    await sink.applyBatch([toWireEvent(ev("seed", { entityId: "r", type: "add", payload: { v: 0 } }))]);
    sink.batches.length = 0;
    oneStatement.hold.add("held");
    await store.enqueue([ev("stale", { entityId: "r", baseVersion: 0, payload: { v: 1 } }), ev("held", { payload: { h: 1 } })]);
    const s = await engine.drain();
    expect(s.conflicts.resubmitted).toBe(1);
    expect(await store.get("stale")).toMatchObject({ status: "completed", outcome: "applied" });
    expect(await store.get("held")).toMatchObject({ status: "completed", outcome: "applied" });
    expect(sink.batches.flat().map((w) => w.id)).toEqual(["held"]);
  });

  it("after a failed transaction, the rest of the pass takes the leased path", async () => {
    const { store, sink, oneStatement, engine } = setup();
    oneStatement.failures = 1;
    await store.enqueue([ev("a"), ev("b"), ev("c")]);
    const s = await engine.drain();
    expect(oneStatement.calls).toBe(1);
    expect(s).toMatchObject({ settled: 3, applied: 3, left: { pending: 0, processing: 0 } });
    expect(sink.batches.flat().map((w) => w.id).sort()).toEqual(["a", "b", "c"]);
    // the next pass tries the one-statement drain again
    await store.enqueue([ev("d")]);
    await engine.drain();
    expect(oneStatement.calls).toBeGreaterThan(1);
    expect(await store.get("d")).toMatchObject({ status: "completed" });
  });
});
