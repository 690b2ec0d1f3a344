/**
 * Leases on the Postgres queue across two stores (two pools, as two daemons would have): an
 * expired lease hands the events to the next claimer, the late holder's settle is reported lost
 * and changes nothing, and the history says who took the events over.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueuedEvent } from "../../src/core/event.ts";
import { openPostgresQueueStore } from "../../src/stores/postgres/index.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";

const NOW = 1_800_000_000_000;

function ev(n: number, row: string): QueuedEvent {
  return { id: `l-${n}`, type: "update", entity: "well", entityId: row, payload: { n }, timestamp: NOW - 1000 + n, status: "pending", retryCount: 0 };
}

describe.runIf(await realPgAvailable())("postgres queue: leases", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("mudsync_pgq_lease");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("an expired lease moves to the next claimer; the old holder's settle is lost", async () => {
    const a = await openPostgresQueueStore({ url: db.url, schema: "leases", owner: "a" });
    const b = await openPostgresQueueStore({ url: db.url, schema: "leases", owner: "b" });
    try {
      await a.enqueue([ev(1, "r1"), ev(2, "r1"), ev(3, "r2")]);
      const held = await a.claim({ limit: 2, leaseMs: 1000, now: NOW, owner: "a" });
      expect(held.map((e) => e.id)).toEqual(["l-1", "l-2"]);

      // live lease: b gets only the other row
      expect((await b.claim({ limit: 10, leaseMs: 1000, now: NOW + 999, owner: "b" })).map((e) => e.id)).toEqual(["l-3"]);
      // expired: b takes the row over, in order
      const taken = await b.claim({ limit: 10, leaseMs: 1000, now: NOW + 1000, owner: "b" });
      expect(taken.map((e) => [e.id, e.leaseOwner, e.leaseUntil])).toEqual([
        ["l-1", "b", NOW + 2000],
        ["l-2", "b", NOW + 2000],
      ]);

      // a wakes up late: its settle is lost and changes nothing
      const late = await a.update(
        held.map((e) => ({ id: e.id, changes: { status: "completed" as const, leaseUntil: undefined, leaseOwner: undefined }, expectOwner: "a" })),
      );
      expect(late.lost.sort()).toEqual(["l-1", "l-2"]);
      expect((await a.get("l-1"))?.status).toBe("processing");

      // b settles: one completed, one failed with a retry time
      const mine = await b.update([
        { id: "l-1", changes: { status: "completed", leaseUntil: undefined, leaseOwner: undefined }, expectOwner: "b", note: "applied v2" },
        { id: "l-2", changes: { status: "failed", nextAttemptAt: NOW + 5000, lastError: "timeout", leaseUntil: undefined, leaseOwner: undefined }, expectOwner: "b" },
        { id: "l-3", changes: { status: "completed", leaseUntil: undefined, leaseOwner: undefined }, expectOwner: "b" },
      ]);
      expect(mine.lost).toEqual([]);
      expect(await a.get("l-2")).toMatchObject({ status: "failed", nextAttemptAt: NOW + 5000, lastError: "timeout" });
      expect(await a.get("l-2")).not.toHaveProperty("leaseOwner");

      const h = await a.history("l-1");
      expect(h.map((x) => [x.from, x.to])).toEqual([
        ["pending", "processing"],
        ["processing", "processing"],
        ["processing", "completed"],
      ]);
      expect(h[0]?.note).toBe("claimed by a");
      expect(h[1]?.note).toBe("lease of a expired; claimed by b");
      expect(h[2]?.note).toBe("applied v2");

      // the failed event waits for its retry, then comes back
      expect(await a.claim({ limit: 10, leaseMs: 1000, now: NOW + 4999, owner: "a" })).toEqual([]);
      expect((await a.claim({ limit: 10, leaseMs: 1000, now: NOW + 5000, owner: "a" })).map((e) => e.id)).toEqual(["l-2"]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("events left processing without a lease (a crashed browser) are claimable", async () => {
    const s = await openPostgresQueueStore({ url: db.url, schema: "stuck" });
    try {
      await s.enqueue([{ ...ev(1, "r"), status: "processing" }, ev(2, "r")]);
      const got = await s.claim({ limit: 10, leaseMs: 1000, now: NOW, owner: "w" });
      expect(got.map((e) => e.id)).toEqual(["l-1", "l-2"]);
      expect((await s.history("l-1"))[0]?.note).toBe("lease of (no owner) expired; claimed by w");
    } finally {
      await s.close();
    }
  });

  it("rejects a bad URL, schema or event with one clear line", async () => {
    await expect(openPostgresQueueStore({ url: "mysql://x" })).rejects.toThrow(/expected a postgres:\/\/ or postgresql:\/\/ URL/);
    await expect(openPostgresQueueStore({ url: db.url, schema: "Bad-Name" })).rejects.toThrow(/queue schema "Bad-Name": expected a lower-case SQL identifier/);
    await expect(openPostgresQueueStore({ url: "postgres://postgres@127.0.0.1:1/x", connectTimeoutMs: 2000 })).rejects.toThrow(/cannot use the server/);
    const s = await openPostgresQueueStore({ url: db.url, schema: "bad_input" });
    try {
      await expect(s.enqueue([{ ...ev(1, "r"), timestamp: "soon" } as unknown as QueuedEvent])).rejects.toThrow(/enqueue: event 0 \(id l-1\): timestamp/);
      expect(await s.counts()).toMatchObject({ pending: 0 });
    } finally {
      await s.close();
    }
  });
});
