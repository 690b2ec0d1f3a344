/**
 * Upgrading a Postgres queue made by the first layout (the whole event in jsonb, history in its own
 * table) to the current one (lease fields in columns, history in the event's row): every event
 * reads back as it was, histories keep their newest 100 entries in order, and the upgraded queue
 * claims and settles.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueuedEvent } from "../../src/core/event.ts";
import { migrate } from "../../src/sinks/migrate.ts";
import { PgClient } from "../../src/sinks/pg/pg-client.ts";
import { openPostgresQueueStore, QUEUE_MIGRATIONS_DIR } from "../../src/stores/postgres/index.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";

const NOW = 1_800_000_000_000;
const SCHEMA = "upgraded";

const events: QueuedEvent[] = [
  { id: "m-1", type: "update", entity: "well", entityId: "w1", payload: { a: 1 }, timestamp: NOW - 3000, status: "pending", retryCount: 0, extra: { kept: "ünïcode" } },
  {
    id: "m-2", type: "add", entity: "well", entityId: "w2", payload: {}, timestamp: NOW - 2000, status: "processing", retryCount: 0,
    attempts: 2, leaseUntil: NOW - 1, leaseOwner: "old-daemon", clientId: "c1", seq: 7,
  },
  { id: "m-3", type: "remove", entity: "curve", entityId: "c1", payload: {}, timestamp: NOW - 1000, status: "failed", retryCount: 3, attempts: 3, nextAttemptAt: NOW + 60_000, lastError: "timeout" },
  { id: "m-4", type: "update", entity: "well", entityId: "w4", payload: { b: 2 }, timestamp: NOW - 500, status: "completed", retryCount: 0, completedAt: NOW - 400 },
];

describe.runIf(await realPgAvailable())("postgres queue: upgrade from the first layout", () => {
  let db: TestDatabase;
  let firstOnly: string;
  beforeAll(async () => {
    db = await createTestDatabase("mudsync_pgq_upgrade");
    firstOnly = mkdtempSync(path.join(tmpdir(), "mudsync-pgq-001-"));
    copyFileSync(path.join(QUEUE_MIGRATIONS_DIR, "001_queue.sql"), path.join(firstOnly, "001_queue.sql"));
  });
  afterAll(async () => {
    rmSync(firstOnly, { recursive: true, force: true });
    await db?.drop();
  });

  it("keeps every event and its history, then claims and settles", async () => {
    const client = new PgClient({ url: db.url, max: 1 });
    try {
      await migrate(client, { schema: SCHEMA, dir: firstOnly });
      await client.query(`INSERT INTO "${SCHEMA}".events (id, event) SELECT x->>'id', x FROM jsonb_array_elements($1::jsonb) x`, [
        JSON.stringify(events),
      ]);
      await client.query(
        `INSERT INTO "${SCHEMA}".history (event_id, at, from_status, to_status, note)
         SELECT 'm-2', $1::double precision + n, CASE WHEN n = 1 THEN 'pending' ELSE 'processing' END, 'processing', 'claim ' || n
         FROM generate_series(1, 105) n
         UNION ALL SELECT 'm-4', $1, NULL, 'completed', NULL`,
        [NOW],
      );
    } finally {
      await client.close();
    }

    const store = await openPostgresQueueStore({ url: db.url, schema: SCHEMA });
    try {
      expect(await store.getMany(events.map((e) => e.id))).toEqual(events);
      const long = await store.history("m-2");
      expect(long).toHaveLength(100);
      expect(long[0]).toEqual({ eventId: "m-2", at: NOW + 6, from: "processing", to: "processing", note: "claim 6" });
      expect(long[99]?.note).toBe("claim 105");
      expect(await store.history("m-4")).toEqual([{ eventId: "m-4", at: NOW, to: "completed" }]);
      expect(await store.counts()).toEqual({ pending: 1, processing: 1, completed: 1, failed: 1, dead: 0 });

      const got = await store.claim({ limit: 10, leaseMs: 1000, now: NOW, owner: "new" });
      expect(got.map((e) => [e.id, e.leaseOwner, e.attempts])).toEqual([
        ["m-1", "new", undefined],
        ["m-2", "new", 2],
      ]);
      const r = await store.update(got.map((e) => ({ id: e.id, changes: { status: "completed", leaseUntil: undefined, leaseOwner: undefined }, expectOwner: "new", note: "applied" })));
      expect(r.lost).toEqual([]);
      expect(await store.get("m-2")).toEqual({ ...events[1], status: "completed", leaseUntil: undefined, leaseOwner: undefined } as unknown);
      const h = await store.history("m-2");
      expect(h).toHaveLength(100);
      expect(h.slice(-2).map((x) => [x.from, x.to, x.note, typeof x.at])).toEqual([
        ["processing", "processing", "lease of old-daemon expired; claimed by new", "number"],
        ["processing", "completed", "applied", "number"],
      ]);
      expect(h.at(-2)?.at).toBe(NOW);
    } finally {
      await store.close();
    }
  });
});
