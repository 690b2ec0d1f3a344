/**
 * `queue ls`, `show` and `stats` with `--queue postgres://…` end to end, with no daemon running:
 * the same events written through each store's own API (enqueue, then status changes with
 * update, on one fixed clock) into a shared Postgres queue and into a local store give the same
 * output and the same `--json` for every page, filter and event; opening reads without writing
 * (a login that may only SELECT is enough; no queue schema is created or migrated); a database
 * without a queue is exit 2 and a server that cannot be reached exit 5, one line each.
 * Real Postgres only: `--queue` takes a postgres:// URL, which the in-process PGlite cannot serve.
 * The CLI runs in process (one child start per call made this file slow); the read-only login's
 * `ls` and the unreachable server go through the real binary.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueuedEvent } from "../../src/core/event.ts";
import { systemClock, type Clock, type EventChange } from "../../src/core/ports.ts";
import { migrate } from "../../src/sinks/sink-migrations.ts";
import { PgClient } from "../../src/postgres/pg-client.ts";
import { openDexieStore } from "../../src/stores/dexie/index.ts";
import { openPostgresQueueStore, QUEUE_MIGRATIONS_DIR } from "../../src/stores/postgres/index.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { runInProcess } from "../helpers/cli-in-process.ts";
import { errorLines, run, tempDirs } from "./queue-run.ts";

/** Times well in the past, so that ages print in whole days and every lease has expired. */
const T0 = Date.UTC(2024, 4, 1, 9, 0);
const CHANGED_AT = T0 + 3_600_000;
const clock: Clock = { now: () => CHANGED_AT, sleep: systemClock.sleep };

const ENTITIES = ["well", "polygon", "curve"] as const;

function makeEvents(): QueuedEvent[] {
  return Array.from({ length: 23 }, (_, n) => ({
    id: `pq-${String(n).padStart(3, "0")}`,
    type: n % 4 === 0 ? ("add" as const) : ("update" as const),
    entity: ENTITIES[n % 3]!,
    entityId: `r${n % 5}`,
    // keys in jsonb's order (shorter first) except pq-001's, which comes back reordered
    payload: n === 1 ? { depth: 10, name: "Brunnen Süd – 井" } : { n, name: `row ${n}` },
    timestamp: T0 + n * 60_000,
    status: "pending" as const,
    retryCount: 0,
    ...(n % 2 === 0 ? { clientId: "c1", seq: n } : {}),
  }));
}

/** What happened to the queue: failed with retries, completed, dead, and stuck in processing. */
function makeChanges(): EventChange[] {
  return [
    { id: "pq-002", changes: { status: "failed", retryCount: 2, attempts: 2, lastError: "timeout", nextAttemptAt: T0 + 7_200_000 }, note: "timeout" },
    { id: "pq-005", changes: { status: "failed", retryCount: 5, attempts: 5, lastError: "conflict on well:r0" } },
    { id: "pq-008", changes: { status: "completed", completedAt: CHANGED_AT, outcome: "applied", appliedVersion: 4 } },
    { id: "pq-009", changes: { status: "completed", completedAt: CHANGED_AT, outcome: "duplicate" } },
    { id: "pq-011", changes: { status: "dead", deadAt: CHANGED_AT, lastError: "rejected: bad payload" }, note: "permanent" },
    { id: "pq-013", changes: { status: "processing" } },
    { id: "pq-014", changes: { status: "processing", leaseUntil: T0 + 600_000, leaseOwner: "gone-daemon" } },
  ];
}

interface LsPage {
  counts: Record<string, number>;
  events: QueuedEvent[];
  next: string | null;
}

/** Every page of `queue ls --json` for these flags. */
async function lsPages(source: string[], flags: string[]): Promise<LsPage[]> {
  const pages: LsPage[] = [];
  let after: string | null = null;
  do {
    const r = await runInProcess(["queue", "ls", ...source, "--json", ...flags, ...(after ? ["--after", after] : [])]);
    expect(r.code, r.stderr).toBe(0);
    const page = JSON.parse(r.stdout) as LsPage;
    expect(Object.keys(page).sort()).toEqual(["counts", "events", "next"]);
    pages.push(page);
    after = page.next;
    expect(pages.length).toBeLessThan(30);
  } while (after);
  return pages;
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string, values?: unknown[]): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

describe.runIf(await realPgAvailable())("queue ls/show/stats --queue postgres://… without a daemon", () => {
  const temp = tempDirs();
  let db: TestDatabase;
  let storeDir: string;
  let pgq: string[];
  let local: string[];

  beforeAll(async () => {
    db = await createTestDatabase("mudsync_cli_pgq");
    const store = await openPostgresQueueStore({ url: db.url, clock });
    try {
      await store.enqueue(makeEvents());
      await store.update(makeChanges());
    } finally {
      await store.close();
    }
    storeDir = path.join(temp.make(), "store");
    const dexie = await openDexieStore({ dir: storeDir, mode: "write", command: "test", clock });
    try {
      await dexie.enqueue(makeEvents());
      await dexie.update(makeChanges());
    } finally {
      await dexie.close();
    }
    pgq = ["--queue", db.url];
    local = ["--store", storeDir];
  });
  afterAll(async () => {
    temp.cleanup();
    await db?.drop();
  });

  /** The local store's whole answer for these flags, in one page. */
  async function localAll(flags: string[]): Promise<LsPage> {
    const pages = await lsPages(local, [...flags, "--limit", "100"]);
    expect(pages).toHaveLength(1);
    return pages[0]!;
  }

  it("ls pages the shared queue like the local store, newest and oldest first", { timeout: 180_000 }, async () => {
    for (const [flags, size, pageCount] of [[[], "8", 3], [["--order", "oldest"], "10", 3]] as const) {
      const [fromPg, fromLocal] = await Promise.all([lsPages(pgq, [...flags, "--limit", size]), localAll([...flags])]);
      expect(fromPg).toHaveLength(pageCount);
      for (const page of fromPg) expect(page.counts).toEqual(fromLocal.counts);
      expect(fromPg.flatMap((p) => p.events)).toEqual(fromLocal.events);
    }
    const newest = await localAll([]);
    expect(newest.events.map((e) => e.id)).toEqual(makeEvents().map((e) => e.id).reverse());
    expect(newest.counts).toEqual({ pending: 16, processing: 2, completed: 2, failed: 2, dead: 1 });
  });

  it("ls filters by status, entity and since as the local store does", { timeout: 180_000 }, async () => {
    const cases: [string[], string[], string][] = [
      [["--status", "failed,processing"], ["pq-014", "pq-013", "pq-005", "pq-002"], "3"],
      [["--status", "completed,dead", "--order", "oldest"], ["pq-008", "pq-009", "pq-011"], "100"],
      [["--entity", "polygon", "--status", "pending,failed"], ["pq-022", "pq-019", "pq-016", "pq-010", "pq-007", "pq-004", "pq-001"], "100"],
      [["--since", new Date(T0 + 20 * 60_000).toISOString()], ["pq-022", "pq-021", "pq-020"], "100"],
    ];
    for (const [flags, ids, size] of cases) {
      const [fromPg, fromLocal] = await Promise.all([lsPages(pgq, [...flags, "--limit", size]), localAll(flags)]);
      const events = fromPg.flatMap((p) => p.events);
      expect(events.map((e) => e.id), flags.join(" ")).toEqual(ids);
      expect(events, flags.join(" ")).toEqual(fromLocal.events);
      expect(fromPg[0]!.counts).toEqual(fromLocal.counts);
    }
  });

  it("ls prints the same table for people", { timeout: 120_000 }, async () => {
    const [fromPg, fromLocal, paged] = await Promise.all([
      runInProcess(["queue", "ls", ...pgq, "--status", "failed,dead,processing"]),
      runInProcess(["queue", "ls", ...local, "--status", "failed,dead,processing"]),
      runInProcess(["queue", "ls", ...pgq, "--limit", "3"]),
    ]);
    expect(fromPg.code, fromPg.stderr).toBe(0);
    const [head, ...rest] = fromPg.stdout.trimEnd().split("\n");
    expect(head).toBe(`${db.url}: pending 16, processing 2, completed 2, failed 2, dead 1`);
    expect(rest).toEqual(fromLocal.stdout.trimEnd().split("\n").slice(1));
    expect(rest[1]).toMatch(/^pq-014\s+processing\s+curve:r4\s+update\s+\d+(\.\d)? y\s+0\s*$/);
    expect(paged.stdout.trimEnd().split("\n").at(-1)).toMatch(/^more: --after \S+$/);
  });

  it("show gives the same event, history and text as the local store", { timeout: 180_000 }, async () => {
    const show = (id: string, flags: string[]) => Promise.all([runInProcess(["queue", "show", id, ...pgq, ...flags]), runInProcess(["queue", "show", id, ...local, ...flags])]);
    for (const id of ["pq-001", "pq-002", "pq-014"]) {
      const [fromPg, fromLocal] = await show(id, ["--json"]);
      expect(fromPg.code, fromPg.stderr).toBe(0);
      const a = JSON.parse(fromPg.stdout);
      const b = JSON.parse(fromLocal.stdout);
      expect(Object.keys(a).sort()).toEqual(["event", "history", "now"]);
      expect(a.event, id).toEqual(b.event);
      expect(a.history, id).toEqual(b.history);
      if (id === "pq-002") {
        expect(a.history).toEqual([{ eventId: "pq-002", at: CHANGED_AT, from: "pending", to: "failed", note: "timeout" }]);
        expect(a.event).toMatchObject({ status: "failed", retryCount: 2, lastError: "timeout", clientId: "c1", seq: 2 });
      }
    }
    // as text, line for line (pq-001's payload keys come back in jsonb's order, so not that one)
    for (const id of ["pq-011", "pq-014"]) {
      const [fromPg, fromLocal] = await show(id, []);
      expect(fromPg.code, fromPg.stderr).toBe(0);
      expect(fromPg.stdout, id).toBe(fromLocal.stdout);
      if (id === "pq-011") expect(fromPg.stdout).toMatch(/lastError: +rejected: bad payload\n[\s\S]*pending -> dead  permanent/);
    }
  });

  it("stats are the local store's", { timeout: 120_000 }, async () => {
    const [fromPg, fromLocal, textPg, textLocal] = await Promise.all([
      runInProcess(["queue", "stats", ...pgq, "--json"]),
      runInProcess(["queue", "stats", ...local, "--json"]),
      runInProcess(["queue", "stats", ...pgq]),
      runInProcess(["queue", "stats", ...local]),
    ]);
    expect(fromPg.code, fromPg.stderr).toBe(0);
    const a = JSON.parse(fromPg.stdout);
    const b = JSON.parse(fromLocal.stdout);
    expect(a.source).toBe(db.url);
    const strip = (s: Record<string, unknown>) => ({ ...s, source: undefined, oldestPending: { ...(s.oldestPending as object), ageMs: 0 } });
    expect(strip(a)).toEqual(strip(b));
    expect(a).toMatchObject({
      total: 23,
      byStatus: { pending: 16, processing: 2, completed: 2, failed: 2, dead: 1 },
      oldestPending: { id: "pq-000" },
      stuckProcessing: { count: 2, noLease: 1, leaseExpired: 1 },
      failed: { count: 2, retries: { "2": 1, "5": 1 } },
    });
    expect(textPg.stdout.split("\n").slice(1)).toEqual(textLocal.stdout.split("\n").slice(1));
    expect(textPg.stdout).toContain("stuck in processing: 2 (1 without a lease, 1 with an expired lease)");
  });

  it("bad ids, cursors and flag combinations are exit 2 with one line", { timeout: 120_000 }, async () => {
    const unknown = await runInProcess(["queue", "show", "no-such-event", ...pgq]);
    expect(unknown.code).toBe(2);
    expect(errorLines(unknown.stderr)).toEqual(["mudsync: no event with id no-such-event in the store"]);
    // a cursor of the local store (its "next" for a page ending at pq-020)
    const localCursor = Buffer.from(JSON.stringify([T0 + 20 * 60_000, "pq-020"]), "utf8").toString("base64url");
    const foreign = await runInProcess(["queue", "ls", ...pgq, "--after", localCursor]);
    expect(foreign.code).toBe(2);
    expect(errorLines(foreign.stderr)).toHaveLength(1);
    expect(foreign.stderr).toMatch(/list cursor .*expected the `next` value of a previous page of this queue/);
    const both = await runInProcess(["queue", "stats", ...pgq, "--file", "x.json"]);
    expect(both.code).toBe(2);
    expect(errorLines(both.stderr)).toEqual(["mudsync: queue stats reads either --file or --queue, not both"]);
  });

  it("a login that may only read the queue can inspect it: nothing is written on open", { timeout: 120_000 }, async () => {
    const role = `mudsync_ro_${process.pid}_${Date.now().toString(36)}`;
    await sql(db.url, `CREATE ROLE ${role} LOGIN`);
    try {
      await sql(db.url, `GRANT USAGE ON SCHEMA mudsync_queue TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA mudsync_queue TO ${role}`);
      const url = new URL(db.url);
      url.username = role;
      const ro = ["--queue", url.toString()];
      const runs = [];
      // ls through the real binary, the others in process
      for (const [i, args] of [["ls", "--json", "--status", "failed"], ["show", "pq-002", "--json"], ["stats", "--json"]].entries()) {
        runs.push(await (i === 0 ? run : runInProcess)(["queue", args[0]!, ...ro, ...args.slice(1)]));
      }
      for (const r of runs) expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(runs[0]!.stdout) as LsPage).events.map((e) => e.id)).toEqual(["pq-005", "pq-002"]);
    } finally {
      await sql(db.url, `DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });
});

describe.runIf(await realPgAvailable())("queue ls/show/stats --queue: databases without a readable queue", () => {
  let empty: TestDatabase;
  let older: TestDatabase;
  let upTo3: string;
  beforeAll(async () => {
    empty = await createTestDatabase("mudsync_cli_pgq_empty");
    older = await createTestDatabase("mudsync_cli_pgq_older");
    upTo3 = mkdtempSync(path.join(tmpdir(), "mudsync-pgq-003-"));
    for (const f of ["001_queue.sql", "002_plain_columns.sql", "003_row_half_stats.sql"]) {
      copyFileSync(path.join(QUEUE_MIGRATIONS_DIR, f), path.join(upTo3, f));
    }
    const client = new PgClient({ url: older.url, max: 1 });
    try {
      await migrate(client, { schema: "mudsync_queue", dir: upTo3 });
    } finally {
      await client.close();
    }
  });
  afterAll(async () => {
    rmSync(upTo3, { recursive: true, force: true });
    await empty?.drop();
    await older?.drop();
  });

  it("ls, show and stats on a database without a queue are exit 2 and create nothing", { timeout: 120_000 }, async () => {
    const runs = await Promise.all([["ls"], ["show", "pq-000"], ["stats"]].map((cmd) => runInProcess(["queue", ...cmd, "--queue", empty.url])));
    for (const r of runs) {
      expect(r.code).toBe(2);
      expect(errorLines(r.stderr)).toEqual([
        `mudsync: queue ${empty.url}: no mudsync queue in this database (no table mudsync_queue.events); ` +
          "expected the database a daemon started with --queue has run on",
      ]);
      expect(r.stdout).toBe("");
    }
    expect(await sql(empty.url, "SELECT nspname FROM pg_namespace WHERE nspname = 'mudsync_queue'")).toEqual([]);
  });

  it("a queue of an older layout is exit 2 and is not migrated", { timeout: 60_000 }, async () => {
    const r = await runInProcess(["queue", "ls", "--queue", older.url]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/is at migration 003_row_half_stats\.sql, older than this mudsync's \(004_settle_columns\.sql, 005_history_lines\.sql not applied\); read-only commands do not migrate it/);
    const applied = await sql<{ name: string }>(older.url, "SELECT name FROM mudsync_queue.migrations ORDER BY id");
    expect(applied.map((m) => m.name)).toEqual(["001_queue.sql", "002_plain_columns.sql", "003_row_half_stats.sql"]);
  });

  it("a database that does not exist is exit 2 with one line", { timeout: 60_000 }, async () => {
    const url = new URL(empty.url);
    url.pathname = `/${empty.name}_missing`;
    const r = await runInProcess(["queue", "stats", "--queue", url.toString()]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([
      `mudsync: queue ${url.toString()}: no such database (3D000: database "${empty.name}_missing" does not exist); expected the database of a shared mudsync queue`,
    ]);
  });

  it("a server that cannot be reached is exit 5 with one line", { timeout: 60_000 }, async () => {
    const r = await run(["queue", "ls", "--queue", "postgres://postgres@127.0.0.1:1/mudsync"]);
    expect(r.code).toBe(5);
    expect(errorLines(r.stderr)).toEqual([
      "mudsync: queue postgres://postgres@127.0.0.1:1/mudsync: cannot reach the server (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1)",
    ]);
  });
});
