/**
 * Upgrading a Postgres queue made by an earlier layout to the current one:
 * - from the first layout (the whole event in jsonb, history in its own table): every event reads
 *   back as it was, histories keep their newest 100 entries in order, and the upgraded queue
 *   claims and settles;
 * - from 003 (settle fields in the jsonb): the settle fields move to their columns, a value of an
 *   unexpected type stays in the jsonb, every event reads back as it was, and the one-statement
 *   drain settles into the columns.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueuedEvent } from "../../src/core/event.ts";
import { MIGRATIONS_DIR, migrate } from "../../src/sinks/sink-migrations.ts";
import { PgClient } from "../../src/postgres/pg-client.ts";
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

describe.runIf(await realPgAvailable())("postgres queue: upgrades from earlier layouts", () => {
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

  it("from the first layout: keeps every event and its history, then claims and settles", async () => {
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

  it("from 003: moves the settle fields to their columns and reads every event back as it was", async () => {
    const upTo3 = mkdtempSync(path.join(tmpdir(), "mudsync-pgq-003-"));
    const schema = "upgraded_settle";
    const before: QueuedEvent[] = [
      { id: "s-1", type: "update", entity: "well", entityId: "w1", payload: { a: 1 }, timestamp: NOW - 900, status: "completed", retryCount: 0, outcome: "applied", completedAt: NOW - 800, appliedVersion: 4 },
      { id: "s-2", type: "add", entity: "well", entityId: "w2", payload: {}, timestamp: NOW - 800, status: "dead", retryCount: 1, outcome: "rejected", deadAt: NOW - 700, lastError: "rejected: nope" },
      { id: "s-3", type: "update", entity: "well", entityId: "w3", payload: { c: 3 }, timestamp: NOW - 700, status: "failed", retryCount: 2, lastError: "timeout", nextAttemptAt: NOW - 1 },
      { id: "s-4", type: "update", entity: "well", entityId: "w4", payload: {}, timestamp: NOW - 600, status: "pending", retryCount: 0 },
    ];
    // written by something that did not validate: kept as it is
    const odd = { ...before[3]!, id: "s-5", entityId: "w5", lastError: 42, appliedVersion: "7" } as unknown as QueuedEvent;
    const client = new PgClient({ url: db.url, max: 1 });
    try {
      for (const f of ["001_queue.sql", "002_plain_columns.sql", "003_row_half_stats.sql"]) copyFileSync(path.join(QUEUE_MIGRATIONS_DIR, f), path.join(upTo3, f));
      await migrate(client, { schema, dir: upTo3 });
      const rows = [...before, odd].map((e) => {
        const { status, nextAttemptAt, ...rest } = e as QueuedEvent & { nextAttemptAt?: number };
        return { id: e.id, event: rest, status, next: nextAttemptAt ?? null, entity: e.entity, entityId: e.entityId, ts: e.timestamp };
      });
      await client.query(
        `INSERT INTO "${schema}".events (id, event, status, next_attempt_at, entity, entity_id, client_id, seq, ts)
         SELECT r->>'id', r->'event', r->>'status', (r->>'next')::double precision, r->>'entity', r->>'entityId', '', -1, (r->'ts')::double precision
         FROM jsonb_array_elements($1::jsonb) r`,
        [JSON.stringify(rows)],
      );
      await migrate(client, { schema: "mudsync", dir: MIGRATIONS_DIR });
    } finally {
      await client.close();
      rmSync(upTo3, { recursive: true, force: true });
    }

    const store = await openPostgresQueueStore({ url: db.url, schema });
    const admin = new PgClient({ url: db.url, max: 1 });
    try {
      expect(await store.getMany([...before, odd].map((e) => e.id))).toEqual([...before, odd]);
      const cols = await admin.query<Record<string, unknown>>(
        `SELECT id, outcome, completed_at, applied_version::int AS applied_version, dead_at, last_error,
                event ?| '{outcome,completedAt,appliedVersion,deadAt,lastError}'::text[] AS in_jsonb
         FROM "${schema}".events ORDER BY id`,
      );
      expect(cols.rows).toEqual([
        { id: "s-1", outcome: "applied", completed_at: NOW - 800, applied_version: 4, dead_at: null, last_error: null, in_jsonb: false },
        { id: "s-2", outcome: "rejected", completed_at: null, applied_version: null, dead_at: NOW - 700, last_error: "rejected: nope", in_jsonb: false },
        { id: "s-3", outcome: null, completed_at: null, applied_version: null, dead_at: null, last_error: "timeout", in_jsonb: false },
        { id: "s-4", outcome: null, completed_at: null, applied_version: null, dead_at: null, last_error: null, in_jsonb: false },
        { id: "s-5", outcome: null, completed_at: null, applied_version: null, dead_at: null, last_error: null, in_jsonb: true },
      ]);

      // the one-statement drain settles the failed event into the columns: completed, its error cleared
      const batches = await store.oneStatementWith("mudsync");
      const r = await batches!.claimApplySettle({ limit: 10, leaseMs: 1000, now: NOW, owner: "w" });
      expect(r.settled.map((e) => [e.id, e.outcome]).sort()).toEqual([["s-3", "applied"], ["s-4", "applied"], ["s-5", "applied"]]);
      const s3 = await store.get("s-3");
      expect(s3).toMatchObject({ status: "completed", outcome: "applied", completedAt: NOW, appliedVersion: 1, retryCount: 2 });
      expect(s3).not.toHaveProperty("lastError");
      expect(s3).not.toHaveProperty("nextAttemptAt");
    } finally {
      await admin.close();
      await store.close();
    }
  });
});
