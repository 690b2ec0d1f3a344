/**
 * Events already in a store that hold what PostgreSQL cannot store (a NUL, an unpaired
 * surrogate) or nest too deep: stores written before these were refused at the door can hold
 * them. The engine rejects each such event on its own before sending, with a reason naming the
 * path; it never reaches the server, so it cannot fail (and split) the batch of the others.
 */
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine.ts";
import type { QueuedEvent } from "../../src/core/event.ts";
import type { ApplyResult, WireEvent } from "../../src/core/ports.ts";
import { MAX_NESTING_DEPTH } from "../../src/core/value-limits.ts";
import { PermanentSinkError } from "../../src/errors.ts";
import { FakeClock, makeEvent } from "../helpers/fakes.ts";
import { MemoryQueueStore } from "../helpers/memory-queue-store.ts";
import { ModelSink } from "../helpers/model-sink.ts";

/** Fails a whole batch as PostgreSQL does when one event holds a NUL or an unpaired surrogate. */
class PostgresLikeSink extends ModelSink {
  override async applyBatch(events: WireEvent[]): Promise<ApplyResult[]> {
    const text = JSON.stringify(events); // JSON.stringify escapes exactly the unpaired surrogates
    if (text.includes("\\u0000")) {
      this.batches.push(events);
      throw new PermanentSinkError("pg sink: unsupported Unicode escape sequence (SQLSTATE 22P05)", "22P05");
    }
    if (/\\ud[89a-f][0-9a-f]{2}/i.test(text)) {
      this.batches.push(events);
      throw new PermanentSinkError("pg sink: invalid input syntax for type json (SQLSTATE 22P02)", "22P02");
    }
    return super.applyBatch(events);
  }
}

function nested(levels: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < levels; i++) v = { a: v };
  return v;
}

describe("engine: events the server cannot store", () => {
  it("rejects each one alone before sending, naming the path; the others go in one round trip", async () => {
    const clock = new FakeClock();
    const store = new MemoryQueueStore();
    const sink = new PostgresLikeSink();
    const at = 1_700_000_000_000;
    const good = Array.from({ length: 6 }, (_, i) => makeEvent({ id: `ok-${i}`, type: "add", entityId: `w${i}`, payload: { i }, timestamp: at + i }));
    const bad: QueuedEvent[] = [
      makeEvent({ id: "nul-1", type: "add", entityId: "b1", payload: { name: "a\u0000b" }, timestamp: at + 10 }),
      makeEvent({ id: "sur-1", type: "add", entityId: "b2", payload: { ["k\ud800"]: 1 }, timestamp: at + 11 }),
      makeEvent({ id: "deep-1", type: "add", entityId: "b3", payload: nested(MAX_NESTING_DEPTH + 5), timestamp: at + 12 }),
    ];
    await store.enqueue([good[0]!, bad[0]!, good[1]!, good[2]!, bad[1]!, good[3]!, bad[2]!, good[4]!, good[5]!]);
    const engine = new Engine({
      store,
      sink,
      clock,
      settings: { batchSize: 100, coalesce: true, leaseMs: 30_000, owner: "t", retry: { baseMs: 1000, maxMs: 30_000, jitter: 0, maxAttempts: 5 }, strategyFor: () => "manual" },
    });
    const summary = await engine.drain();

    expect(summary).toMatchObject({ applied: 6, rejected: 3, dead: 3, roundTrips: 1 });
    expect(sink.batches).toHaveLength(1);
    expect(sink.batches[0]!.map((e) => e.id).sort()).toEqual(good.map((e) => e.id).sort());
    const [nul, sur, deep] = await store.getMany(["nul-1", "sur-1", "deep-1"]);
    expect(nul).toMatchObject({ status: "dead", outcome: "rejected" });
    expect(nul!.lastError).toMatch(/^rejected: not sent: payload\.name: contains a NUL character/);
    expect(sur!.lastError).toMatch(/^rejected: not sent: payload\["k\\ud800"\]: the key contains an unpaired UTF-16 surrogate/);
    expect(deep!.lastError).toMatch(/^rejected: not sent: payload: objects and arrays nest more than 1000 levels deep/);
    for (const e of good) expect((await store.get(e.id))!.status).toBe("completed");
  });
});
