import { describe, expect, it } from "vitest";
import pino from "pino";
import { TtlCache } from "../../src/core/cache.ts";
import { OptimisticStateManager } from "../../src/core/optimistic.ts";
import type { RowState } from "../../src/core/ports.ts";
import { rowSync } from "../../src/daemon/row-sync.ts";
import { FakeClock, MemoryCacheStore } from "../helpers/fakes.ts";

function setup(serverRow: RowState | null) {
  const clock = new FakeClock();
  const store = new MemoryCacheStore();
  const cache = new TtlCache(store, clock);
  const optimistic = new OptimisticStateManager<Record<string, unknown>>();
  const reads: string[] = [];
  const sync = rowSync({
    cache,
    optimistic: optimistic as OptimisticStateManager,
    sink: { getRow: async (entity, id) => (reads.push(`${entity}:${id}`), serverRow) },
    logger: pino({ level: "silent" }),
  });
  return { store, cache, optimistic, reads, sync };
}

describe("TtlCache.invalidateRow", () => {
  it("drops the row's key and keys under it, and nothing that merely starts the same; ids are not patterns", async () => {
    const { store, cache } = setup(null);
    for (const k of ["well:a*b", "well:a*b:meta", "well:a*bc", "well:axb", "well:a*b0"]) await cache.set(k, 1);
    expect(await cache.invalidateRow("well", "a*b")).toBe(2);
    expect([...store.entries.keys()].sort()).toEqual(["well:a*b0", "well:a*bc", "well:axb"]);
  });
});

describe("rowSync (the daemon's reaction to a realtime change)", () => {
  it("invalidates the changed row's cache entries and leaves other rows cached", async () => {
    const { store, cache, sync, reads } = setup(null);
    await cache.set("chart:7", { a: 1 });
    await cache.set("chart:7:selection", [1]);
    await cache.set("chart:70", { a: 2 });
    await sync({ entity: "chart", id: "7", version: 3, op: "update" });
    expect([...store.entries.keys()]).toEqual(["chart:70"]);
    expect(reads).toEqual([]); // no optimistic edits on the row: nothing to confirm, no read
  });

  it("confirms the optimistic state of the row with the server's row: committed edits fold in, pending ones stay on top", async () => {
    const server: RowState = { entity: "well", id: "w1", version: 5, data: { name: "server", depth: 10 } };
    const { optimistic, sync, reads } = setup(server);
    optimistic.apply("well:w1", (cur) => ({ ...(cur ?? {}), name: "mine" }), "e1");
    optimistic.apply("well:w1", (cur) => ({ ...(cur ?? {}), color: "red" }), "e2");
    optimistic.commit("e1", 5); // the server applied e1 as version 5
    await sync({ entity: "well", id: "w1", version: 5, op: "update" });
    expect(reads).toEqual(["well:w1"]);
    expect(optimistic.view("well:w1")).toEqual({ name: "server", depth: 10, color: "red" });
    expect(optimistic.pending("well:w1")).toHaveLength(1);
  });

  it("a chart_data_source change reaches the app's chart:<id> key: cache entries and optimistic edits", async () => {
    const server: RowState = { entity: "chart_data_source", id: "c1", version: 4, data: [{ id: "curve-a" }] };
    const { store, cache, optimistic, sync, reads } = setup(server);
    await cache.set("chart:c1", { data_source_config: [] });
    await cache.set("chart:c1:selection", ["curve-a"]);
    await cache.set("chart_data_source:c1", "not the app's key");
    optimistic.apply("chart:c1", (cur) => ({ ...(cur ?? {}), mine: true }), "e1");
    await sync({ entity: "chart_data_source", id: "c1", version: 4, op: "update" });
    expect([...store.entries.keys()]).toEqual(["chart_data_source:c1"]);
    expect(reads).toEqual(["chart_data_source:c1"]); // the row is read back by its entity name
    expect(optimistic.confirmedVersion("chart:c1")).toBe(4);
  });

  it("a failing read is logged and does not throw (the feed goes on)", async () => {
    const { optimistic, cache } = setup(null);
    const sync = rowSync({
      cache,
      optimistic: optimistic as OptimisticStateManager,
      sink: { getRow: async () => Promise.reject(new Error("connection reset")) },
      logger: pino({ level: "silent" }),
    });
    optimistic.apply("well:w1", () => ({ x: 1 }), "e1");
    await expect(sync({ entity: "well", id: "w1", version: 2, op: "update" })).resolves.toBeUndefined();
  });
});
