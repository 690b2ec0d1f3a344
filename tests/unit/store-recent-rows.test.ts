/**
 * The writer's cache of recently seen persisted rows (events/recent-rows.ts), which lets update() skip
 * reading rows it has just listed or written: a read that overlapped a write is never kept, kept
 * rows are the store's own copies, and through the store every write (update, put, a rolled-back
 * atomic group) leaves the next update working on the row as it really is.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { QueuedEvent } from "../../src/core/event.ts";
import type { PageSource } from "../../src/stores/dexie/events/page-source.ts";
import { type DexieQueueStore, openDexieStore } from "../../src/stores/dexie/index.ts";
import { RecentRows } from "../../src/stores/dexie/events/recent-rows.ts";
import { makeEvent } from "../contract/queue-store-contract.ts";

/** A source whose reads finish when the test says so. */
function deferredSource(rows: Map<string, QueuedEvent>) {
  const waiting: (() => void)[] = [];
  const source: PageSource = {
    pageIds: async () => [...rows.keys()],
    bulkGet: (ids) =>
      new Promise((resolve) => waiting.push(() => resolve(ids.map((id) => (rows.has(id) ? structuredClone(rows.get(id)!) : undefined))))),
  };
  return { source, finish: () => waiting.splice(0).forEach((f) => f()) };
}

describe("RecentRows", () => {
  const rows = new Map([1, 2, 3].map((n) => [makeEvent(n).id, makeEvent(n)]));

  it("keeps a copy of what a quiet read returned", async () => {
    const writes = { epoch: 4, running: false };
    const recent = new RecentRows(writes);
    const { source, finish } = deferredSource(rows);
    const read = recent.readThrough(source).bulkGet(["evt-00001", "evt-00009"]);
    finish();
    const [row, absent] = await read;
    expect(absent).toBeUndefined();
    row!.status = "failed"; // the caller's copy
    expect(recent.get("evt-00001")).toEqual(makeEvent(1));
    expect(recent.size).toBe(1);
  });

  it("keeps nothing from a read that a write overlapped or that ran during a write", async () => {
    const writes = { epoch: 0, running: false };
    const recent = new RecentRows(writes);
    const { source, finish } = deferredSource(rows);
    const read = recent.readThrough(source).bulkGet(["evt-00001"]);
    writes.epoch += 2; // a whole write job started and ended while the read was on its way
    finish();
    await read;
    expect(recent.get("evt-00001")).toBeUndefined();

    writes.running = true;
    writes.epoch++;
    const during = recent.readThrough(source).bulkGet(["evt-00002"]);
    finish();
    await during;
    expect(recent.get("evt-00002")).toBeUndefined();
  });

  it("keeps written open rows, forgets settled ones, and drops the oldest beyond its capacity", () => {
    const recent = new RecentRows({ epoch: 0, running: false }, 2);
    recent.wrote([makeEvent(1), makeEvent(2)]);
    recent.wrote([makeEvent(1, { status: "completed" })]);
    expect(recent.get("evt-00001")).toBeUndefined();
    recent.wrote([makeEvent(3, { status: "failed" }), makeEvent(4)]);
    expect([2, 3, 4].map((n) => recent.get(makeEvent(n).id)?.id)).toEqual([undefined, "evt-00003", "evt-00004"]);
  });
});

let dir: string;
let store: DexieQueueStore | undefined;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-recent-"));
  store = await openDexieStore({ dir, mode: "write", command: "recent rows test" });
});
afterEach(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("dexie store updates after a list", () => {
  it("each update builds on the previous one, across list, update, put and rollback", async () => {
    const s = store!;
    await s.enqueue([makeEvent(1), makeEvent(2), makeEvent(3)]);
    const ids = (await s.list({ statuses: ["pending"], limit: 10, order: "asc" })).events.map((e) => e.id);
    await s.update(ids.map((id) => ({ id, changes: { status: "processing", leaseOwner: "w", leaseUntil: 10 } })));
    await s.update([{ id: "evt-00001", changes: { retryCount: 2 } }]);
    expect(await s.get("evt-00001")).toMatchObject({ status: "processing", leaseOwner: "w", retryCount: 2 });

    await s.put([makeEvent(2, { payload: { replaced: true } })]);
    await s.update([{ id: "evt-00002", changes: { status: "failed" } }]);
    expect(await s.get("evt-00002")).toMatchObject({ status: "failed", payload: { replaced: true } });

    await expect(
      s.atomic(async () => {
        await s.update([{ id: "evt-00003", changes: { status: "dead", lastError: "x" } }]);
        throw new Error("undo");
      }),
    ).rejects.toThrow("undo");
    await s.update([{ id: "evt-00003", changes: { retryCount: 1 } }]);
    const third = await s.get("evt-00003");
    expect(third).toMatchObject({ status: "processing", retryCount: 1 });
    expect(third?.lastError).toBeUndefined();
    expect((await s.history("evt-00003")).map((h) => `${h.from}>${h.to}`)).toEqual(["pending>processing"]);
  });

  it("a list racing an update never makes a later update work on the older row", async () => {
    const s = store!;
    await s.enqueue([makeEvent(1), makeEvent(2)]);
    for (let round = 0; round < 20; round++) {
      const listing = s.list({ limit: 10, order: "asc" });
      const marking = s.update([{ id: "evt-00001", changes: { retryCount: round * 2 + 1 } }]);
      await Promise.all([listing, marking]);
      await s.update([{ id: "evt-00001", changes: { attempts: round } }]);
      expect(await s.get("evt-00001")).toMatchObject({ retryCount: round * 2 + 1, attempts: round });
    }
    // the reopened store agrees with what the writer saw
    await s.close();
    store = await openDexieStore({ dir, mode: "read" });
    expect(await store.get("evt-00001")).toMatchObject({ retryCount: 39, attempts: 19 });
  });
});
