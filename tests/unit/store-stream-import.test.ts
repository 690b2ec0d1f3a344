/**
 * The Dexie store's streaming import (rows written straight into the log as one atomic group,
 * without opening Dexie): idempotent over ids already stored (in the snapshot, in the log,
 * earlier in the same import), --replace keeps the last image, the size limit refuses without
 * changing anything, a failed import leaves the store as it was, and writers and readers opened
 * afterwards see exactly the imported rows.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { QueuedEvent } from "../../src/core/event.ts";
import type { CacheEntry } from "../../src/core/ports.ts";
import { StoreLockedError, StoreTooLargeError } from "../../src/errors.ts";
import { type DexieQueueStore, type ImportRow, importIntoDexieStore, openDexieStore } from "../../src/stores/dexie/index.ts";
import { makeEvent } from "../contract/queue-store-contract.ts";

let dir: string;
const opened: DexieQueueStore[] = [];
async function openStore(mode: "write" | "read" = "write", maxEvents?: number) {
  const s = await openDexieStore({ dir, mode, command: "stream import test", ...(maxEvents ? { maxEvents } : {}) });
  opened.push(s);
  return s;
}
async function closeAll() {
  for (const s of opened.splice(0)) await s.close();
}

async function* rowsOf(events: QueuedEvent[], cache: CacheEntry[] = []): AsyncGenerator<ImportRow> {
  for (const e of events) yield { table: "events", value: e as unknown as Record<string, unknown> };
  for (const c of cache) yield { table: "cache", value: c as unknown as Record<string, unknown> };
}

const range = (from: number, to: number, over: Partial<QueuedEvent> = {}) =>
  Array.from({ length: to - from + 1 }, (_, i) => makeEvent(from + i, over));

async function allIds(s: DexieQueueStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of s.scan(500)) ids.push(...page.map((e) => e.id));
  return ids;
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-stream-import-"));
});
afterEach(async () => {
  await closeAll();
  await rm(dir, { recursive: true, force: true });
});

describe("dexie store streaming import", () => {
  it("imports into an empty store; writer and reader see exactly the rows, in small chunks", async () => {
    const events = range(1, 2500);
    const r = await importIntoDexieStore({ dir, chunkRows: 100 }, rowsOf(events, [{ key: "k1", data: { a: 1 }, timestamp: 5, ttl: 10, version: 1 }]));
    expect(r.events).toEqual({ inserted: 2500, existing: 0, replaced: 0 });
    expect(r.cache).toEqual({ inserted: 1, existing: 0, replaced: 0 });
    expect(r.keysHeld).toBe(2501);
    const reader = await openStore("read");
    expect((await allIds(reader)).sort()).toEqual(events.map((e) => e.id).sort());
    expect(await reader.get("evt-00042")).toEqual(makeEvent(42));
    const writer = await openStore("write");
    expect(writer.warnings).toEqual([]);
    expect(await writer.counts()).toMatchObject({ pending: 2500 });
    expect(await writer.cache.get("k1")).toEqual({ key: "k1", data: { a: 1 }, timestamp: 5, ttl: 10, version: 1 });
    const claimed = await writer.claim({ limit: 3, leaseMs: 1000, now: 5_000_000, owner: "t" });
    expect(claimed.map((e) => e.id)).toEqual(["evt-00001", "evt-00002", "evt-00003"]);
  });

  it("is idempotent over ids in the snapshot, in the log and earlier in the same import", async () => {
    const s = await openStore();
    await s.enqueue(range(1, 10));
    await s.compact(); // 1-10 in the snapshot
    await s.enqueue(range(11, 20, { status: "failed" })); // 11-20 in the log
    await s.atomic(async () => s.enqueue(range(21, 25))); // 21-25 in the log, committed group
    await closeAll();

    const again = [...range(1, 30, { payload: { from: "import" } }), makeEvent(26, { payload: { twice: true } })];
    const r = await importIntoDexieStore({ dir }, rowsOf(again));
    expect(r.events).toEqual({ inserted: 5, existing: 26, replaced: 0 });
    const w = await openStore();
    expect(await w.counts()).toMatchObject({ pending: 20, failed: 10 });
    expect((await w.get("evt-00003"))?.payload).toEqual(makeEvent(3).payload);
    expect((await w.get("evt-00026"))?.payload).toEqual({ from: "import" });
    await closeAll();

    // importing the same rows once more changes nothing
    const third = await importIntoDexieStore({ dir }, rowsOf(again));
    expect(third.events).toEqual({ inserted: 0, existing: 31, replaced: 0 });
    const reader = await openStore("read");
    expect((await allIds(reader)).length).toBe(30);
  });

  it("with replace overwrites stored rows and keeps the last image of a repeated id", async () => {
    const s = await openStore();
    await s.enqueue(range(1, 4));
    await s.cache.set({ key: "k", data: 1, timestamp: 1, ttl: 1, version: 1 });
    await closeAll();
    const rows = [makeEvent(2, { status: "failed" }), makeEvent(5), makeEvent(5, { retryCount: 3 })];
    const r = await importIntoDexieStore({ dir, replace: true }, rowsOf(rows, [{ key: "k", data: 2, timestamp: 1, ttl: 1, version: 2 }]));
    expect(r.events).toEqual({ inserted: 1, existing: 0, replaced: 2 });
    expect(r.cache).toEqual({ inserted: 0, existing: 0, replaced: 1 });
    for (const mode of ["read", "write"] as const) {
      const o = await openStore(mode);
      expect((await o.get("evt-00002"))?.status).toBe("failed");
      expect((await o.get("evt-00005"))?.retryCount).toBe(3);
      expect(await o.counts()).toMatchObject({ pending: 4, failed: 1 });
      expect((await o.cache.get("k"))?.data).toBe(2);
      await closeAll();
    }
  });

  it("refuses past the size limit and leaves the store as it was", async () => {
    const s = await openStore("write", 10);
    await s.enqueue(range(1, 8));
    await closeAll();
    const err = await importIntoDexieStore({ dir, maxEvents: 10, chunkRows: 2 }, rowsOf(range(5, 14))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreTooLargeError);
    expect((err as Error).message).toMatch(/past 10 events.*nothing was imported/);
    const w = await openStore("write", 10);
    // the group's records were aborted, so open has nothing to report
    expect(w.warnings).toEqual([]);
    expect((await allIds(w)).sort()).toEqual(range(1, 8).map((e) => e.id));
  });

  it("a row that cannot be stored fails the import and changes nothing", async () => {
    const bad = { ...makeEvent(3), timestamp: "yesterday" } as unknown as QueuedEvent;
    await expect(importIntoDexieStore({ dir, chunkRows: 1 }, rowsOf([makeEvent(1), makeEvent(2), bad]))).rejects.toThrow(/timestamp/);
    const r = await openStore("read");
    expect(await allIds(r)).toEqual([]);
  });

  it("records of an import that failed midway neither count as stored nor block a later import", async () => {
    // (records of one killed before its commit: store-import-crash.test.ts)
    async function* failing(): AsyncGenerator<ImportRow> {
      yield* rowsOf(range(1, 50));
      throw new Error("source broke");
    }
    await expect(importIntoDexieStore({ dir, chunkRows: 10 }, failing())).rejects.toThrow("source broke");
    const r = await importIntoDexieStore({ dir, chunkRows: 10 }, rowsOf(range(1, 60)));
    expect(r.events).toEqual({ inserted: 60, existing: 0, replaced: 0 });
    const w = await openStore();
    expect((await allIds(w)).length).toBe(60);
  });

  it("is refused while a writer holds the store", async () => {
    await openStore();
    await expect(importIntoDexieStore({ dir }, rowsOf([makeEvent(1)]))).rejects.toBeInstanceOf(StoreLockedError);
    await closeAll();
    expect(await readdir(path.join(dir, "queue"))).not.toContain("LOCK");
  });
});
