/**
 * The pieces of `bench batching` that decide its verdicts: the seed's grouping (which must reorder
 * as the seed does), the row comparison, the round-trip counter, and the workloads' determinism.
 */
import { describe, expect, it } from "vitest";
import type { QueuedEvent } from "../../src/core/event.ts";
import type { SqlClient } from "../../src/postgres/sql-client.ts";
import { seedGroups, SeedSync } from "../../src/bench-batching/seed-sync.ts";
import { describePart, differencePath, firstDifference } from "../../src/bench-batching/compare-rows.ts";
import { countedClient, RoundTripCounter } from "../../src/bench-batching/counted-client.ts";
import { generateWorkload } from "../../src/bench-batching/workloads.ts";
import { MemoryQueueStore } from "../../src/stores/memory/memory-queue-store.ts";
import { ModelSink } from "../helpers/model-sink.ts";

const ev = (seq: number, type: QueuedEvent["type"], entry: string, entityId = "chart-1"): QueuedEvent => ({
  id: `e${seq}`,
  type,
  entity: "chart_data_source",
  entityId,
  payload: { id: entry },
  timestamp: 1000 + seq,
  status: "pending",
  retryCount: 0,
  clientId: "c",
  seq,
});

describe("the seed's grouping", () => {
  it("groups by entity:type in order of first appearance, so a later remove lands after a later add", () => {
    const events = [ev(1, "add", "s1"), ev(2, "remove", "s1"), ev(3, "add", "s1"), ev(4, "add", "s2", "chart-2")];
    expect(seedGroups(events).map((g) => g.map((e) => e.id))).toEqual([["e1", "e3", "e4"], ["e2"]]);
  });

  it("ends a select, deselect, reselect with the source deselected (the defect the bench reports)", async () => {
    const store = new MemoryQueueStore();
    const sink = new ModelSink();
    await store.enqueue([ev(1, "add", "s1"), ev(2, "remove", "s1"), ev(3, "add", "s1")]);
    await new SeedSync(store, sink, 100).trigger();
    expect((await store.counts()).completed).toBe(3);
    expect(sink.model.rows.get("chart_data_source:chart-1")?.data).toEqual({ data_source_config: [] });
  });
});

describe("row comparison", () => {
  const row = (id: string, data: unknown) => ({ entity: "chart_data_source", id, data });

  it("compares data by value, whatever order the keys came in", () => {
    expect(firstDifference([row("a", [{ id: "s1", on: true }])], [row("a", [{ on: true, id: "s1" }])])).toBeNull();
  });

  it("names the first differing row and the path inside it", () => {
    const d = firstDifference([row("a", [1]), row("b", [{ id: "s1" }, { id: "s2" }])], [row("b", [{ id: "s1" }, { id: "s3" }]), row("a", [1])]);
    expect(d).toMatchObject({ id: "b", path: "[1]", expected: [{ id: "s1" }, { id: "s2" }] });
  });

  it("reports a row only one side has, with null for the missing side", () => {
    expect(firstDifference([row("a", [])], [])).toMatchObject({ id: "a", expected: [], actual: null, path: "" });
    expect(firstDifference([], [row("z", [])])).toMatchObject({ id: "z", expected: null, actual: [] });
    expect(differencePath({ a: 1, b: [1, 2] }, { a: 1, b: [1] })).toBe(".b[1]");
    expect(differencePath([{ id: "s1", on: true }], [{ id: "s1", on: false }])).toBe("[0].on");
    // what people are shown: the entry at the first step, or that there is none
    expect(describePart([{ id: "s1" }, { id: "s2" }], "[1].id")).toBe('{"id":"s2"}');
    expect(describePart([], "[0]")).toBe("nothing at [0]");
    expect(describePart(null, "")).toBe("no row");
  });
});

describe("round-trip counter", () => {
  it("counts statements and transactions only while counting; BEGIN and COMMIT are round trips", async () => {
    const inner: SqlClient = {
      info: { backend: "pglite" },
      query: async () => ({ rows: [] }),
      exec: async () => undefined,
      transaction: async (fn) => fn({ query: async () => ({ rows: [] }), exec: async () => undefined }),
      listen: async () => async () => undefined,
      close: async () => undefined,
    };
    const counter = new RoundTripCounter();
    const client = countedClient(inner, counter);
    await client.query("select 1");
    counter.start();
    await client.query("select 1");
    await client.exec("select 1; select 2");
    await client.transaction(async (tx) => {
      await tx.query("select 1");
      await tx.query("select 2");
    });
    expect(counter.stop()).toEqual({ roundTrips: 2 + 2 + 2, transactions: 3 });
    await client.query("select 1");
    expect(counter.roundTrips).toBe(6);
  });
});

describe("workloads", () => {
  it("are the same for the same seed, and each client's actions are in seq order on its own rows", () => {
    const a = generateWorkload("selection", { events: 300, clients: 3, seed: 5 });
    const b = generateWorkload("selection", { events: 300, clients: 3, seed: 5 });
    expect(b.actions).toEqual(a.actions);
    expect(generateWorkload("selection", { events: 300, clients: 3, seed: 6 }).actions).not.toEqual(a.actions);
    a.perClient.forEach((actions, c) => {
      expect(actions.map((e) => e.seq)).toEqual(actions.map((_, i) => i + 1));
      for (const e of actions) expect(e.entityId).toMatch(new RegExp(`^chart-c${c}-`));
    });
    // toggles: an entry is removed only while selected and added only while not
    const selected = new Map<string, boolean>();
    for (const e of a.setup) selected.set(`${e.entityId}/${String(e.payload.id)}`, true);
    for (const e of a.actions) {
      const key = `${e.entityId}/${String(e.payload.id)}`;
      expect(selected.get(key) ?? false, key).toBe(e.type === "remove");
      selected.set(key, e.type === "add");
    }
  });

  it("hot-rows: every client edits the same rows, each only its own fields", () => {
    const w = generateWorkload("hot-rows", { events: 200, clients: 4, seed: 1 });
    expect(w.rows).toBeLessThanOrEqual(8);
    for (const e of w.actions) for (const k of Object.keys(e.payload)) expect(k.startsWith(`c${e.clientId!.split("-")[1]}_`)).toBe(true);
  });
});
