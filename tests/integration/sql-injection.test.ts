/**
 * SQL-injection strings sent through every string field of events (apply_batch, the shared queue,
 * POST /v1/batches and /v1/events), of the control API's requests and of every command that
 * reaches SQL (db get, conflicts, audit ls, queue replay --actor, queue ls/show --queue, --schema)
 * leave the database as it was except for the intended rows: the same tables, functions and
 * schemas, and each hostile string stored literally where it was meant to go, nowhere else.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { runInProcess } from "../helpers/cli-in-process.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { tempDirs } from "../cli/queue-run.ts";
import { PgClient } from "../../src/postgres/pg-client.ts";
import { PgSink } from "../../src/sinks/pg/pg-sink.ts";
import { openPostgresQueueStore } from "../../src/stores/postgres/index.ts";
import { controlRoutes } from "../../src/daemon/routes.ts";
import type { DaemonControl } from "../../src/daemon/control-api.ts";
import type { QueuedEvent } from "../../src/core/event.ts";
import { HttpError } from "../../src/daemon/control-server.ts";

const SCHEMA = "mudsync";
const QUEUE_SCHEMA = "mudsync_queue";

/** Strings that end a literal or an identifier, chain a statement, or look like placeholders. */
const HOSTILE = [
  "'; DROP TABLE mudsync.wells; --",
  "x'); DELETE FROM mudsync.applied_events; --",
  '" OR 1=1; DROP SCHEMA mudsync CASCADE; --',
  'mudsync".wells; TRUNCATE mudsync.audit_records; --',
  "1; SELECT pg_sleep(30)",
  "$1::text); DROP TABLE mudsync_queue.events; --",
  "%I %L %s @schema@ @schema_text@",
  "\\'; UPDATE mudsync.settings SET value = '1' --",
  "') UNION SELECT usename, passwd FROM pg_shadow --",
];

interface DbShape {
  objects: string[];
  settings: string;
  counts: Record<"wells" | "curves" | "polygons" | "charts" | "applied_events" | "conflicts" | "audit_records" | "entities" | "queue", number>;
}

/** Every schema, relation and function of the database (outside the system's), the settings, and row counts. */
async function shape(url: string): Promise<DbShape> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const objects = await c.query<{ o: string }>(
      `select n.nspname || '.' || c.relname || ':' || c.relkind::text as o from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
       union all
       select n.nspname || '.' || p.proname || '()' from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname not in ('pg_catalog', 'information_schema')
       union all
       select nspname::text from pg_namespace order by 1`,
    );
    const settings = await c.query<{ s: string }>(`select string_agg(key || '=' || value, ',' order by key) as s from ${SCHEMA}.settings`);
    const counts = {} as DbShape["counts"];
    for (const t of ["wells", "curves", "polygons", "charts", "applied_events", "conflicts", "audit_records", "entities"] as const) {
      counts[t] = Number((await c.query<{ n: string }>(`select count(*) as n from ${SCHEMA}.${t}`)).rows[0]!.n);
    }
    counts.queue = Number((await c.query<{ n: string }>(`select count(*) as n from ${QUEUE_SCHEMA}.events`)).rows[0]!.n);
    return { objects: objects.rows.map((r) => r.o), settings: settings.rows[0]!.s, counts };
  } finally {
    await c.end();
  }
}

/** One event per hostile string, every string field carrying it (ids made unique by a prefix). */
function hostileEvents(prefix: string): QueuedEvent[] {
  return HOSTILE.map((h, i) => ({
    id: `${prefix}${i}:${h}`,
    type: "add",
    entity: "well",
    entityId: `${prefix}${i}:${h}`,
    payload: { [h]: h, name: h, nested: { [h]: [h] } },
    timestamp: 1_700_000_000_000 + i,
    status: "pending",
    retryCount: 0,
    clientId: `${h}`.slice(0, 200),
    seq: i,
  }));
}

describe.runIf(await realPgAvailable())("SQL injection through every input", () => {
  let db: TestDatabase;
  let sink: PgSink;
  let before: DbShape;
  const dirs = tempDirs();
  let store: string;
  const intended = { wells: 0, applied: 0, queue: 0 };

  beforeAll(async () => {
    db = await createTestDatabase("mudsync_injection");
    const migrated = await runInProcess(["db", "migrate", "--db", db.url]);
    expect(migrated.code, migrated.stderr).toBe(0);
    const q = await openPostgresQueueStore({ url: db.url, schema: QUEUE_SCHEMA });
    await q.close();
    sink = new PgSink(new PgClient({ url: db.url }), { schema: SCHEMA });
    store = dirs.make("mudsync-injection-");
    before = await shape(db.url);
  }, 60_000);
  afterAll(async () => {
    await sink?.close();
    dirs.cleanup();
    await db?.drop();
  });

  it("events through apply_batch: every string stored literally, nothing else touched", async () => {
    const events = hostileEvents("sink-");
    const results = await sink.applyBatch(events);
    expect(results.map((r) => r.outcome)).toEqual(events.map(() => "applied"));
    intended.wells += events.length;
    intended.applied += events.length;
    for (const e of events) {
      const row = await sink.getRow("well", e.entityId);
      expect(row?.data).toEqual(e.payload);
    }
    // unknown entities named by hostile text are rejected, not looked up as tables
    const bad = await sink.applyBatch(HOSTILE.map((h, i) => ({ ...events[0]!, id: `entity-${i}`, entity: h })));
    expect(bad.every((r) => r.outcome === "rejected")).toBe(true);
  });

  it("events through POST /v1/batches and /v1/events, and hostile request fields", async () => {
    const queued: QueuedEvent[] = [];
    const control = {
      applyBatch: (events) => sink.applyBatch(events),
      enqueue: async (events: QueuedEvent[]) => (queued.push(...events), { ids: events.map((e) => e.id), existing: [] }),
      retry: async (sel) => ({ moved: 0, skipped: (sel.ids ?? []).map((id) => ({ id, reason: "no such event" })) }),
      list: async () => ({ counts: { pending: 0, processing: 0, completed: 0, failed: 0, dead: 0 }, events: [], next: null }),
    } as Partial<DaemonControl> as DaemonControl;
    const routes = controlRoutes(control);
    const call = (method: "GET" | "POST", path: string, body?: unknown, query = new URLSearchParams()) =>
      routes.find((r) => r.method === method && r.path === path)!.handle({ method, path, query, body }).then(
        (r) => r.status,
        (e: HttpError) => e.status,
      );
    const events = hostileEvents("http-");
    expect(await call("POST", "/v1/batches", { events })).toBe(200);
    intended.wells += events.length;
    intended.applied += events.length;
    expect(await call("POST", "/v1/events", { events: hostileEvents("enq-") })).toBe(200);
    expect(queued.map((e) => e.entityId)).toEqual(hostileEvents("enq-").map((e) => e.entityId));
    expect(await call("POST", "/v1/retry", { ids: HOSTILE, actor: HOSTILE[0] })).toBe(200);
    for (const h of HOSTILE) {
      expect([200, 400]).toContain(await call("GET", "/v1/events", undefined, new URLSearchParams({ entity: h.slice(0, 100), after: h })));
      expect(await call("GET", "/v1/events", undefined, new URLSearchParams({ status: h }))).toBe(400);
    }
  });

  it("the shared queue: enqueue, get and list with hostile ids and filters", async () => {
    const q = await openPostgresQueueStore({ url: db.url, schema: QUEUE_SCHEMA });
    try {
      const events = hostileEvents("queue-");
      expect((await q.enqueue(events)).inserted).toHaveLength(events.length);
      intended.queue += events.length;
      for (const e of events) expect((await q.get(e.id))?.payload).toEqual(e.payload);
      for (const h of HOSTILE) {
        expect((await q.list({ entity: h, limit: 10, order: "asc" })).events).toEqual([]);
        expect(await q.get(h)).toBeUndefined();
      }
    } finally {
      await q.close();
    }
    for (const h of HOSTILE) {
      const ls = await runInProcess(["queue", "ls", "--queue", db.url, "--entity", h, "--json"]);
      expect(ls.code, ls.stderr).toBe(0);
      expect(JSON.parse(ls.stdout).events).toEqual([]);
      const show = await runInProcess(["queue", "show", h, "--queue", db.url]);
      expect(show.code).toBe(2);
    }
  });

  it("commands: db get, conflicts, audit ls, replay --actor, and hostile schema names", async () => {
    for (const h of HOSTILE) {
      const get = await runInProcess(["--db", db.url, "db", "get", "well", h]);
      expect(get.code).toBe(2);
      expect(get.stderr).toContain(`no well with id "${h}" on the server`);
      const entity = await runInProcess(["--db", db.url, "db", "get", h, "x"]);
      expect(entity.code).toBe(2);
      expect(entity.stderr).toContain("unknown entity");
      const audit = await runInProcess(["--db", db.url, "--json", "audit", "ls", "--event", h, "--row", `${h}:${h}`]);
      expect(audit.code, audit.stderr).toBe(0);
      expect(JSON.parse(audit.stdout).entries).toEqual([]);
      const schema = await runInProcess(["--db", db.url, "db", "status"], { env: { MUDSYNC_SCHEMA: h } });
      expect(schema.code).toBe(2);
      expect(schema.stderr).toContain("a lower-case SQL identifier");
      const queueSchema = await runInProcess(["queue", "ls", "--queue", db.url], { env: { MUDSYNC_QUEUE_SCHEMA: h } });
      expect(queueSchema.code).toBe(2);
    }
    // the audit log finds the hostile id literally
    const found = await runInProcess(["--db", db.url, "--json", "audit", "ls", "--event", `sink-0:${HOSTILE[0]}`]);
    expect(JSON.parse(found.stdout).entries.map((e: { decision: string }) => e.decision)).toEqual(["applied"]);

    // a conflict parked and resolved with hostile text in the event, --merged and --actor
    const conflict = hostileEvents("park-").slice(0, 1).map((e) => ({ ...e, entityId: `sink-0:${HOSTILE[0]}`, baseVersion: 0, type: "update" as const }));
    const parked = await sink.parkConflicts!(conflict.map((event) => ({ event, current: null })));
    const id = parked[0]!.conflictId;
    const ls = await runInProcess(["--db", db.url, "--json", "conflicts", "ls"]);
    expect(JSON.parse(ls.stdout).conflicts.map((c: { eventId: string }) => c.eventId)).toEqual([conflict[0]!.id]);
    // the whole document (a partial one is refused): the stored row's fields, hostile values in them
    const stored = (await sink.getRow("well", conflict[0]!.entityId))!.data as Record<string, unknown>;
    const merged = JSON.stringify({ ...stored, name: HOSTILE[2], [HOSTILE[3]!]: HOSTILE[4] });
    const resolved = await runInProcess(["--db", db.url, "--json", "conflicts", "resolve", String(id), "--take", "merged", "--merged", merged, "--actor", HOSTILE[1]!]);
    expect(resolved.code, resolved.stderr).toBe(0);
    expect((await sink.getRow("well", conflict[0]!.entityId))?.data).toEqual(JSON.parse(merged));
    intended.applied += 1;
    const who = await runInProcess(["--db", db.url, "--json", "audit", "ls", "--event", conflict[0]!.id, "--order", "oldest"]);
    expect(JSON.parse(who.stdout).entries.map((e: { decision: string; actor: string }) => [e.decision, e.actor])).toEqual([
      ["parked", conflict[0]!.clientId],
      ["applied", conflict[0]!.clientId],
      ["resolved", HOSTILE[1]],
    ]);

    // a replay through the local store with a hostile actor: audited literally
    const enq = await runInProcess(["--store", store, "--db", db.url, "queue", "enqueue", "-"], {
      input: hostileEvents("replay-").slice(0, 2).map((e) => JSON.stringify(e)).join("\n"),
    });
    expect(enq.code, enq.stderr).toBe(0);
    const drain = await runInProcess(["--store", store, "--db", db.url, "queue", "drain"]);
    expect(drain.code, drain.stderr).toBe(0);
    intended.wells += 2;
    intended.applied += 2;
    const replay = await runInProcess(["--store", store, "--db", db.url, "queue", "replay", "--status", "completed", "--actor", HOSTILE[0]!]);
    expect(replay.code, replay.stderr).toBe(0);
    const replayed = await runInProcess(["--db", db.url, "--json", "audit", "ls", "--event", `replay-0:${HOSTILE[0]}`, "--order", "oldest"]);
    expect(JSON.parse(replayed.stdout).entries.map((e: { decision: string; actor: string }) => [e.decision, e.actor])).toEqual([
      ["applied", HOSTILE[0]],
      ["replayed", HOSTILE[0]],
      ["duplicate", HOSTILE[0]],
    ]);
  }, 300_000);

  it("the database holds the same objects and settings, and only the intended rows", async () => {
    const after = await shape(db.url);
    expect(after.objects).toEqual(before.objects);
    expect(after.settings).toBe(before.settings);
    expect(after.counts.wells).toBe(before.counts.wells + intended.wells);
    expect(after.counts.applied_events).toBe(before.counts.applied_events + intended.applied);
    expect(after.counts.queue).toBe(before.counts.queue + intended.queue);
    expect(after.counts.entities).toBe(before.counts.entities);
    expect(after.counts.curves + after.counts.polygons + after.counts.charts).toBe(before.counts.curves + before.counts.polygons + before.counts.charts);
    expect(after.counts.conflicts).toBe(before.counts.conflicts + 1);
  });
});
