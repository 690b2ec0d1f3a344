import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { coalesceRow } from "../../src/core/coalesce.ts";
import { planBatches } from "../../src/core/batcher.ts";
import { compareRowOrder, type QueuedEvent } from "../../src/core/event.ts";
import { toWireEvent } from "../../src/core/coalesce.ts";
import { applyBatchToModel, applyToModel, createModel, eventsArbitrary, makeEvent, modelSnapshot } from "../helpers/fakes.ts";

const chart = (id: string, type: QueuedEvent["type"], payload: Record<string, unknown>, extra: Partial<QueuedEvent> = {}) =>
  makeEvent({ id, type, entity: "chart_data_source", entityId: "c1", payload, ...extra });
const well = (id: string, type: QueuedEvent["type"], payload: Record<string, unknown>, extra: Partial<QueuedEvent> = {}) =>
  makeEvent({ id, type, entity: "well", entityId: "w1", payload, ...extra });

describe("coalesceRow", () => {
  it("merges consecutive document updates, later fields winning, keeping the last id", () => {
    const out = coalesceRow([
      well("e1", "update", { a: 1, b: 1 }, { seq: 1 }),
      well("e2", "update", { b: 2 }, { seq: 2 }),
      well("e3", "update", { c: 3 }, { seq: 3 }),
    ]);
    expect(out).toEqual([
      expect.objectContaining({ id: "e3", type: "update", seq: 3, payload: { a: 1, b: 2, c: 3 }, coalesced: ["e1", "e2"] }),
    ]);
  });

  it("folds updates into a preceding add, and keeps a remove with the add coalesced", () => {
    expect(coalesceRow([well("e1", "add", { a: 1 }), well("e2", "update", { b: 2 })])).toEqual([
      expect.objectContaining({ id: "e2", type: "add", payload: { a: 1, b: 2 }, coalesced: ["e1"] }),
    ]);
    expect(coalesceRow([well("e1", "add", { a: 1 }), well("e2", "update", { b: 2 }), well("e3", "remove", {})])).toEqual([
      expect.objectContaining({ id: "e3", type: "remove", payload: {}, coalesced: ["e1", "e2"] }),
    ]);
  });

  it("cancels add then remove of one chart entry into the remove, recording both", () => {
    const out = coalesceRow([chart("e1", "add", { id: "x", name: "X" }), chart("e2", "remove", { id: "x" })]);
    expect(out).toEqual([expect.objectContaining({ id: "e2", type: "remove", payload: { id: "x" }, coalesced: ["e1"] })]);
  });

  it("merges updates of the same chart entry but not of different entries", () => {
    const out = coalesceRow([
      chart("e1", "update", { id: "x", a: 1 }),
      chart("e2", "update", { id: "x", b: 2 }),
      chart("e3", "update", { id: "y", a: 1 }),
      chart("e4", "remove", { id: "x" }),
    ]);
    expect(out.map((w) => [w.id, w.type, w.payload, w.coalesced])).toEqual([
      ["e2", "update", { id: "x", a: 1, b: 2 }, ["e1"]],
      ["e3", "update", { id: "y", a: 1 }, undefined],
      ["e4", "remove", { id: "x" }, undefined],
    ]);
  });

  it("never merges across clients, baseVersions, or a remove followed by an add/update", () => {
    const out = coalesceRow([
      well("e1", "update", { a: 1 }, { clientId: "A", seq: 1 }),
      well("e2", "update", { a: 2 }, { clientId: "B", seq: 1 }),
      well("e3", "update", { a: 3 }, { clientId: "B", seq: 2, baseVersion: 4 }),
      well("e4", "update", { a: 4 }, { clientId: "B", seq: 3, baseVersion: 5 }),
      well("e5", "update", { a: 5 }, { clientId: "B", seq: 4, baseVersion: 5 }),
      well("e6", "remove", {}, { clientId: "B", seq: 5, baseVersion: 5 }),
      well("e7", "add", { a: 7 }, { clientId: "B", seq: 6, baseVersion: 5 }),
      well("e8", "update", { a: 8 }, { clientId: "B", seq: 7, baseVersion: 5 }),
    ]);
    expect(out.map((w) => [w.id, w.coalesced ?? []])).toEqual([
      ["e1", []],
      ["e2", []],
      ["e3", []],
      ["e6", ["e4", "e5"]],
      ["e8", ["e7"]],
    ]);
    expect(out[3]?.baseVersion).toBe(5);
  });

  it("leaves events that may have reached the server on their own", () => {
    const out = coalesceRow([
      well("e1", "update", { a: 1 }),
      well("e2", "update", { a: 2 }, { retryCount: 1 }),
      well("e3", "update", { a: 3 }, { attempts: 2 }),
      well("e4", "update", { a: 4 }, { outcome: "applied" }),
      well("e5", "update", { a: 5 }),
      well("e6", "update", { a: 6 }),
    ]);
    expect(out.map((w) => [w.id, w.coalesced ?? []])).toEqual([
      ["e1", []],
      ["e2", []],
      ["e3", []],
      ["e4", []],
      ["e6", ["e5"]],
    ]);
  });

  it("does not coalesce entities it has no rules for", () => {
    const out = coalesceRow([
      makeEvent({ id: "e1", entity: "custom", entityId: "k", payload: { a: 1 } }),
      makeEvent({ id: "e2", entity: "custom", entityId: "k", payload: { a: 2 } }),
    ]);
    expect(out).toHaveLength(2);
  });

  it("does not leak queue bookkeeping onto the wire", () => {
    const [w] = coalesceRow([well("e1", "update", { a: 1 }, { status: "processing", leaseOwner: "d1", leaseUntil: 5 })]);
    expect(Object.keys(w ?? {}).sort()).toEqual(["entity", "entityId", "id", "payload", "timestamp", "type"]);
  });
});

// ---------------------------------------------------------------- equivalence property

describe("coalescing equivalence", () => {
  it("applying the coalesced batches gives the same rows as applying every event one by one", () => {
    fc.assert(
      fc.property(eventsArbitrary, fc.integer({ min: 1, max: 8 }), fc.boolean(), (events, batchSize, reverse) => {
        const oneByOne = createModel();
        for (const e of [...events].sort(compareRowOrder)) applyToModel(oneByOne, toWireEvent(e));

        const coalesced = createModel();
        const input = reverse ? [...events].reverse() : events;
        const covered: string[] = [];
        for (const batch of planBatches(input, { batchSize, coalesce: true })) {
          applyBatchToModel(coalesced, batch.events);
          for (const ids of batch.sources.values()) covered.push(...ids);
        }
        expect(modelSnapshot(coalesced)).toEqual(modelSnapshot(oneByOne));
        expect(covered.sort()).toEqual(events.map((e) => e.id).sort());
        expect([...coalesced.applied.keys()].sort()).toEqual([...oneByOne.applied.keys()].sort());
      }),
      { numRuns: 300 },
    );
  });

  it("a replay of any coalesced event afterwards is a duplicate", () => {
    fc.assert(
      fc.property(eventsArbitrary, (events) => {
        const model = createModel();
        for (const batch of planBatches(events, { batchSize: 10 })) applyBatchToModel(model, batch.events);
        for (const e of events) expect(applyToModel(model, toWireEvent(e)).outcome).toBe("duplicate");
      }),
      { numRuns: 100 },
    );
  });
});
