import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BatchCollector, planBatches } from "../../src/core/batcher.ts";
import { compareRowOrder, rowKey } from "../../src/core/event.ts";
import { eventsArbitrary, FakeClock, makeEvent, settle } from "../helpers/fakes.ts";

describe("planBatches", () => {
  it("keeps an add and a later remove of one row in order (the seed grouped them apart)", () => {
    const events = [
      makeEvent({ id: "add", type: "add", entity: "chart_data_source", entityId: "c1", payload: { id: "x" }, seq: 1 }),
      makeEvent({ id: "w", type: "update", entity: "well", entityId: "w1", payload: { a: 1 }, seq: 2 }),
      makeEvent({ id: "rm", type: "remove", entity: "chart_data_source", entityId: "c1", payload: { id: "x" }, seq: 3 }),
    ];
    const batches = planBatches(events, { batchSize: 10, coalesce: false });
    expect(batches).toHaveLength(1);
    expect(batches[0]?.events.map((e) => e.id)).toEqual(["add", "rm", "w"]);
  });

  it("sorts a row's events by client, seq, timestamp whatever the input order", () => {
    const events = [
      makeEvent({ id: "b2", clientId: "B", seq: 2, payload: { v: 4 } }),
      makeEvent({ id: "a2", clientId: "A", seq: 2, payload: { v: 2 } }),
      makeEvent({ id: "b1", clientId: "B", seq: 1, payload: { v: 3 } }),
      makeEvent({ id: "a1", clientId: "A", seq: 1, payload: { v: 1 } }),
    ];
    const [batch] = planBatches(events, { batchSize: 2, coalesce: false });
    expect(batch?.events.map((e) => e.id)).toEqual(["a1", "a2"]);
  });

  it("maps every wire event to the original ids it settles", () => {
    const events = [
      makeEvent({ id: "e1", payload: { a: 1 } }),
      makeEvent({ id: "e2", payload: { b: 1 }, timestamp: 1_700_000_000_001 }),
    ];
    const [batch] = planBatches(events, { batchSize: 5 });
    expect(batch?.events.map((e) => e.id)).toEqual(["e2"]);
    expect(batch?.sources.get("e2")).toEqual(["e1", "e2"]);
  });

  it("rejects a bad batch size and duplicated ids", () => {
    expect(() => planBatches([], { batchSize: 0 })).toThrow(/batchSize must be an integer >= 1, got 0/);
    const e = makeEvent({ id: "dup" });
    expect(() => planBatches([e, { ...e }], { batchSize: 5 })).toThrow(/event id dup appears twice/);
  });

  it("keeps per-row order, covers every event once, respects the size, spans consecutive batches", () => {
    fc.assert(
      fc.property(
        eventsArbitrary,
        fc.integer({ min: 1, max: 7 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 1000 }),
        (events, batchSize, coalesce, rot) => {
          const k = events.length === 0 ? 0 : rot % events.length;
          const input = [...events.slice(k), ...events.slice(0, k)];
          const batches = planBatches(input, { batchSize, coalesce });
          const seenIds: string[] = [];
          const perRow = new Map<string, string[]>();
          const batchesOfRow = new Map<string, number[]>();
          batches.forEach((batch, bi) => {
            expect(batch.events.length).toBeGreaterThan(0);
            expect(batch.events.length).toBeLessThanOrEqual(batchSize);
            expect([...batch.sources.keys()]).toEqual(batch.events.map((w) => w.id));
            for (const w of batch.events) {
              const ids = batch.sources.get(w.id) ?? [];
              expect(ids).toEqual([...(w.coalesced ?? []), w.id]);
              if (!coalesce) expect(w.coalesced).toBeUndefined();
              seenIds.push(...ids);
              const key = rowKey(w);
              perRow.set(key, [...(perRow.get(key) ?? []), ...ids]);
              batchesOfRow.set(key, [...(batchesOfRow.get(key) ?? []), bi]);
            }
          });
          expect([...seenIds].sort()).toEqual(events.map((e) => e.id).sort());
          expect(new Set(seenIds).size).toBe(seenIds.length);
          for (const [key, ids] of perRow) {
            const expected = events.filter((e) => rowKey(e) === key).sort(compareRowOrder).map((e) => e.id);
            expect(ids).toEqual(expected);
            // a row's wire events sit in one batch or run on into the directly following ones
            const bis = batchesOfRow.get(key) ?? [];
            bis.slice(1).forEach((b, i) => expect(b - (bis[i] ?? 0)).toBeOneOf([0, 1]));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("BatchCollector", () => {
  function source(initial: number[]) {
    const items = [...initial];
    const pulls: number[] = [];
    return {
      items,
      pulls,
      pull: async (limit: number) => {
        pulls.push(limit);
        return items.splice(0, limit);
      },
    };
  }

  it("returns at once when the first pull fills the batch or finds nothing", async () => {
    const clock = new FakeClock();
    const c = new BatchCollector({ batchSize: 3, batchDelayMs: 1000, clock });
    const full = source([1, 2, 3, 4]);
    expect(await c.collect(full.pull)).toEqual([1, 2, 3]);
    const empty = source([]);
    expect(await c.collect(empty.pull)).toEqual([]);
    expect(clock.sleeping).toBe(0);
  });

  it("waits up to batchDelayMs for more items, then returns what it has", async () => {
    const clock = new FakeClock();
    const c = new BatchCollector({ batchSize: 5, batchDelayMs: 100, pollMs: 40, clock });
    const src = source([1]);
    let done: number[] | undefined;
    const p = c.collect(src.pull).then((r) => (done = r));
    await clock.untilSleeping();
    src.items.push(2);
    await clock.advance(40);
    expect(done).toBeUndefined();
    await clock.advance(40);
    expect(done).toBeUndefined();
    await clock.advance(20); // deadline reached: 100 ms after the first item
    await p;
    expect(done).toEqual([1, 2]);
    expect(src.pulls).toEqual([5, 4, 3, 3]);
  });

  it("stops waiting as soon as the batch is full", async () => {
    const clock = new FakeClock();
    const c = new BatchCollector({ batchSize: 3, batchDelayMs: 10_000, pollMs: 10_000, clock });
    const src = source([1]);
    const p = c.collect(src.pull);
    await clock.untilSleeping();
    src.items.push(2, 3, 4);
    c.notify();
    expect(await p).toEqual([1, 2, 3]);
    expect(clock.now()).toBe(new FakeClock().now());
    expect(src.items).toEqual([4]);
  });

  it("a notify between pulls is not lost, and an abort ends the wait", async () => {
    const clock = new FakeClock();
    const c = new BatchCollector({ batchSize: 3, batchDelayMs: 10_000, pollMs: 10_000, clock });
    let calls = 0;
    const pull = async (limit: number) => {
      calls++;
      if (calls === 1) {
        c.notify(); // arrives while collect is not sleeping yet
        return [1];
      }
      return calls === 2 ? [2].slice(0, limit) : [];
    };
    const ac = new AbortController();
    const p = c.collect(pull, ac.signal);
    await clock.untilSleeping();
    expect(calls).toBe(2);
    ac.abort();
    expect(await p).toEqual([1, 2]);
    await settle();
    expect(clock.sleeping).toBe(0);
  });
});
