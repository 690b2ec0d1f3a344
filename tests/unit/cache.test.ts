import { describe, expect, it } from "vitest";
import { TtlCache } from "../../src/core/cache.ts";
import { FakeClock, MemoryCacheStore, settle } from "../helpers/fakes.ts";

function setup() {
  const clock = new FakeClock();
  const store = new MemoryCacheStore();
  return { clock, store, cache: new TtlCache(store, clock) };
}

describe("TtlCache", () => {
  it("serves a fresh entry without fetching and refetches once it expires", async () => {
    const { clock, cache } = setup();
    let fetches = 0;
    const fetcher = async () => ++fetches;
    expect(await cache.get("well:1", fetcher, 1000)).toBe(1);
    await clock.advance(1000);
    expect(await cache.get("well:1", fetcher, 1000)).toBe(1); // now − timestamp = ttl: still fresh
    await clock.advance(1);
    expect(await cache.get("well:1", fetcher, 1000)).toBe(2);
    expect(fetches).toBe(2);
  });

  it("set defaults to a 5 minute ttl and bumps the entry version", async () => {
    const { clock, store, cache } = setup();
    await cache.set("k", "a");
    await cache.set("k", "b");
    expect(store.entries.get("k")).toMatchObject({ data: "b", ttl: 300_000, version: 2, timestamp: clock.now() });
    await clock.advance(300_001);
    expect(await cache.peek("k")).toBeUndefined();
  });

  it("peek never fetches", async () => {
    const { cache } = setup();
    expect(await cache.peek("nothing")).toBeUndefined();
    await cache.set("k", { a: 1 });
    expect(await cache.peek("k")).toEqual({ a: 1 });
  });

  it("calls the fetcher once for concurrent gets of the same missing key", async () => {
    const { cache } = setup();
    let calls = 0;
    let release!: (v: string) => void;
    const fetcher = () => {
      calls++;
      return new Promise<string>((r) => (release = r));
    };
    const all = Promise.all([cache.get("k", fetcher), cache.get("k", fetcher), cache.get("k", fetcher)]);
    await settle();
    release("v");
    expect(await all).toEqual(["v", "v", "v"]);
    expect(calls).toBe(1);
    expect(await cache.get("k", fetcher)).toBe("v");
    expect(calls).toBe(1);
  });

  it("a failed fetch reaches every waiting caller and is not cached", async () => {
    const { cache, store } = setup();
    const fail = async () => {
      throw new Error("offline");
    };
    await expect(Promise.all([cache.get("k", fail), cache.get("k", fail)])).rejects.toThrow("offline");
    expect(store.entries.size).toBe(0);
    expect(await cache.get("k", async () => 7)).toBe(7);
  });

  it("invalidates with glob patterns, reading only keys under the literal prefix", async () => {
    const { cache, store } = setup();
    for (const k of ["chart:1", "chart:2", "chart:1:meta", "well:1", "well:12", "chart.1", "a+b", "aab"]) {
      await cache.set(k, k);
    }
    expect(await cache.invalidate("chart:?")).toBe(2);
    expect(store.calls.keysWithPrefix).toEqual(["chart:"]);
    expect([...store.entries.keys()].sort()).toEqual(["a+b", "aab", "chart.1", "chart:1:meta", "well:1", "well:12"]);

    expect(await cache.invalidate("well:*")).toBe(2);
    expect(await cache.invalidate("a+b")).toBe(1); // exact key, '+' literal
    expect(store.entries.has("aab")).toBe(true);
    expect(await cache.invalidate("chart.*")).toBe(1); // '.' literal: chart:1:meta stays
    expect([...store.entries.keys()].sort()).toEqual(["aab", "chart:1:meta"]);
    expect(await cache.invalidate("*:*:*")).toBe(1);
    expect(store.calls.keysWithPrefix).toEqual(["chart:", "well:", "chart.", ""]);
  });

  it("does not store a fetch that was invalidated while in flight", async () => {
    const { cache, store } = setup();
    let release!: (v: string) => void;
    const p = cache.get("chart:1", () => new Promise<string>((r) => (release = r)));
    await settle();
    await cache.invalidate("chart:*");
    release("old");
    expect(await p).toBe("old");
    expect(store.entries.has("chart:1")).toBe(false);
  });

  it("purgeExpired deletes only expired entries", async () => {
    const { clock, store, cache } = setup();
    await cache.set("short", 1, 1000);
    await cache.set("long", 2, 10_000);
    await clock.advance(5000);
    expect(await cache.purgeExpired()).toBe(1);
    expect([...store.entries.keys()]).toEqual(["long"]);
  });

  it("rejects a bad ttl with the key named", async () => {
    const { cache } = setup();
    await expect(cache.set("k", 1, -5)).rejects.toThrow("cache ttl for k must be a finite number of ms >= 0, got -5");
  });
});
