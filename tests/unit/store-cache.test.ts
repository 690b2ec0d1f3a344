/** The CacheStore of the Dexie store: set/get, prefix keys, deletes, expiry, persistence. */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDexieStore } from "../../src/stores/dexie/index.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-cache-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const entry = (key: string, timestamp: number, ttl: number) => ({ key, data: { key }, timestamp, ttl, version: 1 });

describe("dexie cache store", () => {
  it("sets, reads, lists by prefix, expires and deletes; survives reopen", async () => {
    const s = await openDexieStore({ dir, mode: "write" });
    const { cache } = s;
    await cache.set(entry("well:1", 100, 50));
    await cache.set(entry("well:2", 100, 500));
    await cache.set(entry("curve:1", 10, 5));
    await cache.set(entry("well:1", 120, 50)); // overwrite
    expect(await cache.get("well:1")).toEqual(entry("well:1", 120, 50));
    expect((await cache.keysWithPrefix("well:")).sort()).toEqual(["well:1", "well:2"]);
    expect((await cache.keysWithPrefix("")).sort()).toEqual(["curve:1", "well:1", "well:2"]);
    expect((await cache.expiredKeys(171)).sort()).toEqual(["curve:1", "well:1"]);
    expect(await cache.expiredKeys(15)).toEqual([]);
    await cache.deleteKeys(["curve:1", "nope"]);
    await expect(cache.set({ ...entry("bad", 1, 1), ttl: Number.NaN })).rejects.toThrow(/ttl/);
    await s.close();

    const r = await openDexieStore({ dir, mode: "read" });
    expect((await r.cache.keysWithPrefix("")).sort()).toEqual(["well:1", "well:2"]);
    await r.close();
  });
});
