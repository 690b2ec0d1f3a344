/**
 * The QueueStore contract: what every queue store promises at the port, whatever keeps the data.
 * `queueStoreContract(name, factory)` defines one describe block; each adapter's test file calls
 * it with a factory that returns a fresh, empty store and a cleanup.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { EventStatus, QueuedEvent } from "../../src/core/event.ts";
import type { QueueStore } from "../../src/core/ports.ts";

export type StoreFactory = () => Promise<{ store: QueueStore; cleanup(): Promise<void> }>;

export function makeEvent(n: number, over: Partial<QueuedEvent> = {}): QueuedEvent {
  return {
    id: `evt-${String(n).padStart(5, "0")}`,
    type: "update",
    entity: "well",
    entityId: `w${n}`,
    payload: { name: `well ${n}`, depth: n * 10 },
    timestamp: 1_000_000 + n * 10,
    status: "pending",
    retryCount: 0,
    ...over,
  };
}

const NOW = 2_000_000;

export function queueStoreContract(name: string, factory: StoreFactory): void {
  describe(`QueueStore contract: ${name}`, () => {
    let store: QueueStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await factory());
    });
    afterEach(async () => {
      await cleanup();
    });

    async function listAll(q: { statuses?: EventStatus[]; entity?: string; since?: number; order: "asc" | "desc"; limit: number }) {
      const ids: string[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 1000; pages++) {
        const page = await store.list({ ...q, ...(after ? { after } : {}) });
        ids.push(...page.events.map((e) => e.id));
        if (!page.next) return ids;
        after = page.next;
      }
      throw new Error("list did not end");
    }

    it("enqueue is idempotent on id and reports what it inserted", async () => {
      const r1 = await store.enqueue([makeEvent(1), makeEvent(2)]);
      expect(r1).toEqual({ inserted: ["evt-00001", "evt-00002"], existing: [] });
      const r2 = await store.enqueue([makeEvent(2, { payload: { changed: true } }), makeEvent(3)]);
      expect(r2).toEqual({ inserted: ["evt-00003"], existing: ["evt-00002"] });
      expect((await store.get("evt-00002"))?.payload).toEqual({ name: "well 2", depth: 20 });
      expect(await store.counts()).toMatchObject({ pending: 3, processing: 0, completed: 0, failed: 0, dead: 0 });
    });

    it("put inserts or overwrites whole events; get and getMany read them back", async () => {
      await store.enqueue([makeEvent(1)]);
      await store.put([makeEvent(1, { status: "failed", retryCount: 2, lastError: "boom" }), makeEvent(2)]);
      expect(await store.get("evt-00001")).toEqual(makeEvent(1, { status: "failed", retryCount: 2, lastError: "boom" }));
      const many = await store.getMany(["evt-00002", "nope", "evt-00001"]);
      expect(many.map((e) => e?.id)).toEqual(["evt-00002", undefined, "evt-00001"]);
      expect(await store.counts()).toMatchObject({ pending: 1, failed: 1 });
    });

    it("keeps unknown fields and unicode as they were", async () => {
      const odd = { ...makeEvent(7), extraField: { nested: [1, 2] }, payload: { name: "Brunnen ü 井 🚰" } } as QueuedEvent;
      await store.enqueue([odd]);
      expect(await store.get(odd.id)).toEqual(odd);
    });

    it("lists in both orders, pages with a cursor and filters by status, entity and since", async () => {
      const events: QueuedEvent[] = [];
      for (let n = 0; n < 30; n++) {
        events.push(
          makeEvent(n, {
            // three events share each timestamp, so paging must resume inside a tie
            timestamp: 1_000_000 + Math.floor(n / 3),
            status: n % 5 === 0 ? "failed" : n % 7 === 0 ? "completed" : "pending",
            entity: n % 2 ? "curve" : "well",
          }),
        );
      }
      await store.enqueue(events);
      const byPos = (a: QueuedEvent, b: QueuedEvent) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : 1);
      const asc = [...events].sort(byPos).map((e) => e.id);
      expect(await listAll({ order: "asc", limit: 4 })).toEqual(asc);
      expect(await listAll({ order: "desc", limit: 7 })).toEqual([...asc].reverse());

      const sel = (f: (e: QueuedEvent) => boolean) => [...events].sort(byPos).filter(f).map((e) => e.id);
      expect(await listAll({ order: "asc", limit: 2, statuses: ["failed", "completed"] })).toEqual(
        sel((e) => e.status === "failed" || e.status === "completed"),
      );
      expect(await listAll({ order: "desc", limit: 3, statuses: ["pending"] })).toEqual(sel((e) => e.status === "pending").reverse());
      expect(await listAll({ order: "desc", limit: 3, statuses: ["pending", "failed", "processing"], entity: "well" })).toEqual(
        sel((e) => e.status !== "completed" && e.entity === "well").reverse(),
      );
      expect(await listAll({ order: "asc", limit: 3, entity: "curve" })).toEqual(sel((e) => e.entity === "curve"));
      expect(await listAll({ order: "desc", limit: 5, since: 1_000_005 })).toEqual(sel((e) => e.timestamp >= 1_000_005).reverse());

      const first = await store.list({ order: "asc", limit: 30 });
      expect(first.events).toHaveLength(30);
      expect(first.next).toBeNull();
    });

    it("rejects a cursor it did not print", async () => {
      await expect(store.list({ order: "asc", limit: 5, after: "not-a-cursor" })).rejects.toThrow(/cursor/);
    });

    it("concurrent enqueues of the same id store it once", async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, k) => store.enqueue([makeEvent(1), makeEvent(100 + k)])));
      expect(results.flatMap((r) => r.inserted).filter((id) => id === "evt-00001")).toHaveLength(1);
      expect(results.flatMap((r) => r.existing).filter((id) => id === "evt-00001")).toHaveLength(19);
      expect((await store.counts()).pending).toBe(21);
    });

    it("counts events by status", async () => {
      await store.enqueue([makeEvent(1), makeEvent(2, { status: "failed" }), makeEvent(3, { status: "dead" })]);
      expect(await store.counts()).toEqual({ pending: 1, processing: 0, completed: 0, failed: 1, dead: 1 });
    });

    it("scan walks every event in batches", async () => {
      const events = Array.from({ length: 23 }, (_, n) => makeEvent(n));
      await store.enqueue(events);
      const seen: string[] = [];
      for await (const batch of store.scan(5)) {
        expect(batch.length).toBeLessThanOrEqual(5);
        seen.push(...batch.map((e) => e.id));
      }
      expect(seen.sort()).toEqual(events.map((e) => e.id).sort());
    });

    it("claim leases due events oldest first, up to the limit", async () => {
      await store.enqueue([makeEvent(3), makeEvent(1), makeEvent(2), makeEvent(4, { status: "completed" })]);
      const got = await store.claim({ limit: 2, leaseMs: 1000, now: NOW, owner: "w1" });
      expect(got.map((e) => e.id)).toEqual(["evt-00001", "evt-00002"]);
      for (const e of got) expect(e).toMatchObject({ status: "processing", leaseUntil: NOW + 1000, leaseOwner: "w1" });
      expect(await store.get("evt-00001")).toMatchObject({ status: "processing", leaseOwner: "w1" });
      const rest = await store.claim({ limit: 10, leaseMs: 1000, now: NOW, owner: "w2" });
      expect(rest.map((e) => e.id)).toEqual(["evt-00003"]);
      expect(await store.claim({ limit: 10, leaseMs: 1000, now: NOW, owner: "w3" })).toEqual([]);
    });

    it("an expired lease makes the event claimable again", async () => {
      await store.enqueue([makeEvent(1)]);
      await store.claim({ limit: 1, leaseMs: 1000, now: NOW, owner: "w1" });
      expect(await store.claim({ limit: 1, leaseMs: 1000, now: NOW + 999, owner: "w2" })).toEqual([]);
      const again = await store.claim({ limit: 1, leaseMs: 1000, now: NOW + 1000, owner: "w2" });
      expect(again.map((e) => [e.id, e.leaseOwner])).toEqual([["evt-00001", "w2"]]);
    });

    it("claims failed events once their retry is due, and pending ones not before nextAttemptAt", async () => {
      await store.enqueue([
        makeEvent(1, { status: "failed", nextAttemptAt: NOW + 500 }),
        makeEvent(2, { status: "failed", nextAttemptAt: NOW - 1 }),
        makeEvent(3, { nextAttemptAt: NOW + 500 }),
        makeEvent(4, { status: "dead" }),
        makeEvent(5, { status: "processing", leaseUntil: NOW + 500, leaseOwner: "other" }),
      ]);
      expect((await store.claim({ limit: 10, leaseMs: 10_000, now: NOW, owner: "w" })).map((e) => e.id)).toEqual(["evt-00002"]);
      expect((await store.claim({ limit: 10, leaseMs: 100, now: NOW + 500, owner: "w" })).map((e) => e.id)).toEqual([
        "evt-00001",
        "evt-00003",
        "evt-00005",
      ]);
    });

    it("treats a failed event without nextAttemptAt and a processing one without a lease as due (browser exports carry neither)", async () => {
      await store.enqueue([makeEvent(1, { status: "failed", retryCount: 3 }), makeEvent(2, { status: "processing" })]);
      const got = await store.claim({ limit: 10, leaseMs: 1000, now: NOW, owner: "w" });
      expect(got.map((e) => e.id)).toEqual(["evt-00001", "evt-00002"]);
      expect(await store.history("evt-00002")).toMatchObject([{ from: "processing", to: "processing" }]);
    });

    it("never hands out an event while an earlier event of its row is leased or waiting for a retry", async () => {
      const row = { entity: "well", entityId: "shared" };
      await store.enqueue([
        makeEvent(1, { ...row }),
        makeEvent(2, { ...row }),
        makeEvent(3, { entity: "well", entityId: "other" }),
      ]);
      // one batch may take both edits of the row, in order
      const first = await store.claim({ limit: 1, leaseMs: 1000, now: NOW, owner: "w1" });
      expect(first.map((e) => e.id)).toEqual(["evt-00001"]);
      // while evt-1 is leased, evt-2 (same row, later) must wait; evt-3 of another row may go
      const second = await store.claim({ limit: 10, leaseMs: 100_000, now: NOW, owner: "w2" });
      expect(second.map((e) => e.id)).toEqual(["evt-00003"]);
      // evt-1 fails and waits for its retry: evt-2 still waits
      await store.update([{ id: "evt-00001", changes: { status: "failed", nextAttemptAt: NOW + 5000, leaseUntil: undefined, leaseOwner: undefined }, expectOwner: "w1" }]);
      expect(await store.claim({ limit: 10, leaseMs: 1000, now: NOW + 10, owner: "w2" })).toEqual([]);
      // retry due: evt-1 then evt-2 in one claim, in row order
      const third = await store.claim({ limit: 10, leaseMs: 1000, now: NOW + 5000, owner: "w3" });
      expect(third.map((e) => e.id)).toEqual(["evt-00001", "evt-00002"]);
    });

    it("orders a row's edits by client sequence, not by timestamp", async () => {
      const row = { entity: "well", entityId: "r", clientId: "c1" };
      await store.enqueue([
        makeEvent(1, { ...row, seq: 2, timestamp: 1_000 }),
        makeEvent(2, { ...row, seq: 1, timestamp: 2_000 }),
      ]);
      const got = await store.claim({ limit: 1, leaseMs: 1000, now: NOW, owner: "w" });
      expect(got.map((e) => e.id)).toEqual(["evt-00002"]);
    });

    it("update applies changes, reports lost leases and records history", async () => {
      await store.enqueue([makeEvent(1), makeEvent(2)]);
      await store.claim({ limit: 2, leaseMs: 1000, now: NOW, owner: "w1" });
      const r = await store.update([
        { id: "evt-00001", changes: { status: "completed", leaseUntil: undefined, leaseOwner: undefined, completedAt: NOW }, expectOwner: "w1", note: "applied v3" },
        { id: "evt-00002", changes: { status: "completed" }, expectOwner: "someone-else" },
      ]);
      expect(r.lost).toEqual(["evt-00002"]);
      const done = await store.get("evt-00001");
      expect(done).toMatchObject({ status: "completed", completedAt: NOW });
      expect(done).not.toHaveProperty("leaseOwner");
      expect(done).not.toHaveProperty("leaseUntil");
      expect((await store.get("evt-00002"))?.status).toBe("processing");
      const h = await store.history("evt-00001");
      expect(h.map((x) => [x.from, x.to])).toEqual([["pending", "processing"], ["processing", "completed"]]);
      expect(h[1]?.note).toBe("applied v3");
      expect(await store.counts()).toMatchObject({ processing: 1, completed: 1 });
    });

    it("history keeps a note's line breaks, quotes and non-ASCII text", async () => {
      await store.enqueue([makeEvent(1)]);
      const note = 'line one\nline "two" \\ ünï 🙂\r\n\ttab';
      await store.update([{ id: "evt-00001", changes: { status: "failed", lastError: note }, note }]);
      await store.update([{ id: "evt-00001", changes: { status: "pending" } }]);
      const h = await store.history("evt-00001");
      expect(h.map((x) => [x.from, x.to, x.note])).toEqual([["pending", "failed", note], ["failed", "pending", undefined]]);
      expect((await store.get("evt-00001"))?.lastError).toBe(note);
    });

    it("update of an unknown event fails without changing anything", async () => {
      await store.enqueue([makeEvent(1)]);
      await expect(store.update([{ id: "evt-00001", changes: { status: "dead" } }, { id: "missing", changes: { status: "dead" } }])).rejects.toThrow(/missing/);
      expect((await store.get("evt-00001"))?.status).toBe("pending");
      expect((await store.update([{ id: "missing", changes: {}, expectOwner: "w" }])).lost).toEqual(["missing"]);
    });
  });
}
