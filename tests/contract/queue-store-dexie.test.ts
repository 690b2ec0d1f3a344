/**
 * Runs the QueueStore contract against the Dexie store in a fresh temp directory per test, and
 * again against its read-only view: writes go to the writer, every read reopens the directory
 * read-only (the path `queue ls/show/stats/export` take), so both paths must give the same answers
 * (leases included: the writer holds them in memory and logs them for readers while it lives).
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { QueueStore } from "../../src/core/ports.ts";
import { type DexieQueueStore, openDexieStore } from "../../src/stores/dexie/index.ts";
import { makeEvent, queueStoreContract } from "./queue-store-contract.ts";

queueStoreContract("dexie", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-contract-"));
  const store = await openDexieStore({ dir, mode: "write", command: "contract test" });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

/** A store whose writes go to `writer` and whose reads go to a read-only open of the same directory. */
function readThroughView(dir: string, writer: DexieQueueStore): { store: QueueStore; close(): Promise<void> } {
  let reader: DexieQueueStore | undefined;
  const view = async (): Promise<DexieQueueStore> => {
    reader ??= await openDexieStore({ dir, mode: "read" });
    if (!reader.capabilities.readOnly) throw new Error("expected a read-only store");
    return reader;
  };
  const written = async <T>(p: Promise<T>): Promise<T> => {
    const r = await p;
    await writer.flush(); // a claim's leases reach the log with its next write, which claim does not wait for
    await reader?.close();
    reader = undefined;
    return r;
  };
  const store: QueueStore = {
    capabilities: writer.capabilities,
    enqueue: (e) => written(writer.enqueue(e)),
    put: (e) => written(writer.put(e)),
    claim: (o) => written(writer.claim(o)),
    update: (c) => written(writer.update(c)),
    get: async (id) => (await view()).get(id),
    getMany: async (ids) => (await view()).getMany(ids),
    list: async (q) => (await view()).list(q),
    counts: async () => (await view()).counts(),
    history: async (id) => (await view()).history(id),
    supersededBy: async (e) => (await view()).supersededBy(e),
    scan: (batch) => ({
      async *[Symbol.asyncIterator]() {
        yield* (await view()).scan(batch);
      },
    }),
    close: async () => undefined,
  };
  return { store, close: async () => reader?.close() };
}

queueStoreContract("dexie read-only view", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-contract-ro-"));
  const writer = await openDexieStore({ dir, mode: "write", command: "contract test" });
  const { store, close } = readThroughView(dir, writer);
  return {
    store,
    cleanup: async () => {
      await close();
      await writer.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe("dexie read-only view", () => {
  it("answers supersededBy like the writer", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-superseded-"));
    const writer = await openDexieStore({ dir, mode: "write", command: "contract test" });
    try {
      const row = { entity: "well", entityId: "w1" };
      const events = [
        makeEvent(1, { ...row, clientId: "c", seq: 1, status: "failed", retryCount: 1 }),
        makeEvent(2, { ...row, clientId: "c", seq: 2, status: "completed" }),
        makeEvent(3, { ...row, clientId: "d", seq: 1, status: "pending" }),
        makeEvent(4, { ...row, clientId: "c", seq: 3, status: "pending" }),
      ];
      await writer.enqueue(events);
      const reader = await openDexieStore({ dir, mode: "read" });
      try {
        const fromWriter = await Promise.all(events.map((e) => writer.supersededBy(e)));
        expect(fromWriter[0]).toBe("evt-00002");
        expect(await Promise.all(events.map((e) => reader.supersededBy(e)))).toEqual(fromWriter);
      } finally {
        await reader.close();
      }
    } finally {
      await writer.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
