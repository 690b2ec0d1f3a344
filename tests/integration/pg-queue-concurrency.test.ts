/**
 * Several claimers, each with its own connection pool, drain one Postgres queue at once: every
 * event is handed out once (or once more per failed attempt), no two claimers ever hold events of
 * one row at the same time, and each row's events are completed in row order.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareRowOrder, rowKey, type QueuedEvent } from "../../src/core/event.ts";
import { openPostgresQueueStore, type PostgresQueueStore } from "../../src/stores/postgres/index.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { prng } from "../../src/sim/seeded-random.ts";

const EVENTS = 20_000;
const ROWS = 200;
const T0 = 1_700_000_000_000;


/** Events over ROWS rows from three clients; timestamps jitter so row order is not time order. */
function makeEvents(rand: () => number): QueuedEvent[] {
  const seq = new Map<string, number>();
  const out: QueuedEvent[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const clientId = `c${Math.floor(rand() * 3)}`;
    const s = (seq.get(clientId) ?? 0) + 1;
    seq.set(clientId, s);
    const row = Math.floor(rand() * ROWS);
    out.push({
      id: `ev-${String(i).padStart(6, "0")}`,
      type: "update",
      entity: row % 2 === 0 ? "chart_data_source" : "well",
      entityId: `row-${row}`,
      payload: { i },
      timestamp: T0 + i * 10 + Math.floor(rand() * 400),
      status: "pending",
      retryCount: 0,
      clientId,
      seq: s,
    });
  }
  return out;
}

describe.runIf(await realPgAvailable())("postgres queue: concurrent claimers", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("mudsync_pgq_conc");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("four claimers drain 20k events over 200 rows: once each, one holder per row, row order kept", async () => {
    const rand = prng(7);
    const events = makeEvents(rand);
    const byId = new Map(events.map((e) => [e.id, e]));
    const stores: PostgresQueueStore[] = [];
    try {
      for (let w = 0; w < 4; w++) stores.push(await openPostgresQueueStore({ url: db.url, schema: "conc", owner: `w${w}`, poolSize: 2 }));
      for (let i = 0; i < events.length; i += 2000) await stores[0]!.enqueue(events.slice(i, i + 2000));

      const holder = new Map<string, string>(); // row -> worker holding events of it
      const violations: string[] = [];
      const claims = new Map<string, number>();
      const completedOrder = new Map<string, string[]>(); // row -> event ids in completion order
      const lost: string[] = [];
      let failures = 0;
      let released = 0;

      async function worker(w: number): Promise<void> {
        const store = stores[w]!;
        const owner = `w${w}`;
        const random = prng(100 + w);
        let idle = 0;
        while (idle < 5) {
          const now = Date.now();
          const got = await store.claim({ limit: 50 + Math.floor(random() * 400), leaseMs: 120_000, now, owner });
          if (got.length === 0) {
            idle += 1;
            await new Promise((r) => setTimeout(r, 10));
            continue;
          }
          idle = 0;
          const rows = new Set(got.map(rowKey));
          for (const row of rows) {
            const other = holder.get(row);
            if (other !== undefined && other !== owner) violations.push(`${owner} got events of ${row} held by ${other}`);
            holder.set(row, owner);
          }
          for (const e of got) {
            expect(e).toMatchObject({ status: "processing", leaseOwner: owner });
            claims.set(e.id, (claims.get(e.id) ?? 0) + 1);
          }
          // settle in claim order; one in ten attempts fails and is due again at once, and the
          // rest of its row in this batch goes back to pending behind it
          const stopped = new Set<string>();
          const changes = got.map((e) => {
            const row = rowKey(e);
            const cleared = { leaseUntil: undefined, leaseOwner: undefined };
            if (stopped.has(row)) {
              released += 1;
              return { id: e.id, changes: { status: "pending" as const, ...cleared }, expectOwner: owner };
            }
            if (random() < 0.1) {
              failures += 1;
              stopped.add(row);
              return { id: e.id, changes: { status: "failed" as const, nextAttemptAt: now, ...cleared }, expectOwner: owner };
            }
            const list = completedOrder.get(row) ?? [];
            list.push(e.id);
            completedOrder.set(row, list);
            return { id: e.id, changes: { status: "completed" as const, completedAt: now, ...cleared }, expectOwner: owner };
          });
          // release the rows before the update is sent: another claimer can only get them after it commits
          for (const row of rows) holder.delete(row);
          const r = await store.update(changes);
          lost.push(...r.lost);
        }
      }
      await Promise.all(stores.map((_, w) => worker(w)));

      expect(violations).toEqual([]);
      expect(lost).toEqual([]);
      expect(await stores[0]!.counts()).toEqual({ pending: 0, processing: 0, completed: EVENTS, failed: 0, dead: 0 });
      expect(claims.size).toBe(EVENTS);
      // an event is handed out again only after it failed or was put back behind a failure
      const total = [...claims.values()].reduce((a, b) => a + b, 0);
      expect(total).toBe(EVENTS + failures + released);

      // per row, completions follow row order (client, seq, timestamp, id)
      const expected = new Map<string, string[]>();
      for (const e of [...events].sort(compareRowOrder)) {
        const list = expected.get(rowKey(e)) ?? [];
        list.push(e.id);
        expected.set(rowKey(e), list);
      }
      let completed = 0;
      for (const [row, ids] of expected) {
        expect(completedOrder.get(row), row).toEqual(ids);
        completed += ids.length;
      }
      expect(completed).toBe(EVENTS);
      expect(byId.size).toBe(EVENTS);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
