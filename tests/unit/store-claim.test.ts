/**
 * Claim in the Dexie store beyond the contract's small cases: paging past many blocked events
 * that share one timestamp, and per-row order across several claims.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDexieStore, type DexieQueueStore } from "../../src/stores/dexie/index.ts";
import { makeEvent } from "../contract/queue-store-contract.ts";

let dir: string;
let store: DexieQueueStore;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-claim-"));
  store = await openDexieStore({ dir, mode: "write" });
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe("dexie store claim", () => {
  it("pages past thousands of blocked events with one timestamp to reach a free row", async () => {
    const hot = { entity: "well", entityId: "hot" };
    await store.enqueue([makeEvent(0, { ...hot, timestamp: 1, status: "processing", leaseUntil: 10_000, leaseOwner: "x" })]);
    await store.enqueue(Array.from({ length: 3000 }, (_, n) => makeEvent(n + 1, { ...hot, timestamp: 5 })));
    await store.enqueue([makeEvent(9999, { entityId: "free", timestamp: 5 })]);
    const got = await store.claim({ limit: 10, leaseMs: 100, now: 50, owner: "w" });
    expect(got.map((e) => e.id)).toEqual(["evt-09999"]);
  });

  it("hands a row's edits out in order across claims", async () => {
    const row = { entity: "curve", entityId: "c1" };
    await store.enqueue(Array.from({ length: 6 }, (_, n) => makeEvent(n, { ...row, timestamp: 100 - n, seq: n, clientId: "a" })));
    const order: string[] = [];
    for (let round = 0; round < 6; round++) {
      const got = await store.claim({ limit: 1, leaseMs: 100, now: 1000 + round, owner: "w" });
      expect(got).toHaveLength(1);
      order.push(got[0]!.id);
      await store.update([{ id: got[0]!.id, changes: { status: "completed", leaseUntil: undefined, leaseOwner: undefined }, expectOwner: "w" }]);
    }
    expect(order).toEqual(["evt-00000", "evt-00001", "evt-00002", "evt-00003", "evt-00004", "evt-00005"]);
    expect(await store.counts()).toMatchObject({ completed: 6, pending: 0 });
  });

  it("keeps at most the newest 100 history entries of an event", async () => {
    await store.enqueue([makeEvent(1)]);
    for (let i = 0; i < 120; i++) await store.update([{ id: "evt-00001", changes: {}, note: `n${i}` }]);
    const h = await store.history("evt-00001");
    expect(h).toHaveLength(100);
    expect(h[99]?.note).toBe("n119");
  });
});
