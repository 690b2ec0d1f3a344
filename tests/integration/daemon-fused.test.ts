/**
 * `mudsync daemon --queue URL --db URL` picks the fused path (one transaction per batch) when both
 * name the same database, says so in its log, and drains on it; `--fused off` keeps the leased
 * path; `--fused on` where it cannot work is one clear error line and exit 2.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import type { QueuedEvent } from "../../src/core/event.ts";
import { openPostgresQueueStore } from "../../src/stores/postgres/index.ts";
import { run } from "../cli/queue-run.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";

const T0 = 1_700_000_000_000;

function events(n: number, prefix: string): QueuedEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    type: "add" as const,
    entity: "curve",
    entityId: `${prefix}-row-${i % 7}`,
    payload: { i },
    timestamp: T0 + i,
    status: "pending" as const,
    retryCount: 0,
    clientId: "c",
    seq: i + 1,
  }));
}

function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.runIf(await realPgAvailable())("daemon on the fused path", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("mudsync_daemon_fused");
    const migrated = await run(["db", "migrate", "--db", db.url]);
    if (migrated.code !== 0) throw new Error(`db migrate failed: ${migrated.stderr}`);
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function enqueue(prefix: string, n: number): Promise<void> {
    const store = await openPostgresQueueStore({ url: db.url });
    try {
      await store.enqueue(events(n, prefix));
    } finally {
      await store.close();
    }
  }

  it("same database: fused, every event applied once and completed", async () => {
    await enqueue("df", 50);
    const once = await run(["daemon", "--once", "--queue", db.url, "--db", db.url, "--json", "--batch-size", "20"]);
    expect(once.code, once.stderr).toBe(0);
    const logs = logLines(once.stderr);
    expect(logs.find((l) => l.event === "fused")).toMatchObject({ active: true });
    expect(logs.filter((l) => l.event === "batch" && l.source === "fused").length).toBeGreaterThan(0);
    expect(JSON.parse(once.stdout)).toMatchObject({ once: true, drain: { drained: true, applied: 50, settled: 50 } });
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ n: number }>("select count(*)::int as n from mudsync.applied_events where event_id like 'df-%'");
      expect(rows[0]!.n).toBe(50);
    } finally {
      await c.end();
    }
  });

  it("--fused off keeps the leased path", async () => {
    await enqueue("dl", 10);
    const once = await run(["daemon", "--once", "--queue", db.url, "--db", db.url, "--fused", "off", "--json"]);
    expect(once.code, once.stderr).toBe(0);
    const logs = logLines(once.stderr);
    expect(logs.find((l) => l.event === "fused")).toMatchObject({ active: false, reason: "--fused off" });
    expect(logs.some((l) => l.source === "fused")).toBe(false);
    expect(JSON.parse(once.stdout)).toMatchObject({ drain: { drained: true, applied: 10 } });
  });

  it("--fused on where the sink is not in the queue's database: one error line, exit 2", async () => {
    const other = await createTestDatabase("mudsync_daemon_fused_other");
    try {
      const r = await run(["daemon", "--once", "--queue", other.url, "--db", db.url, "--fused", "on"]);
      expect(r.code).toBe(2);
      const errors = r.stderr.split("\n").filter((l) => l.includes("--fused on"));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/--fused on: schema "mudsync" \(apply_batch\) is not installed in the queue's database/);
    } finally {
      await other.drop();
    }
  });

  it("rejects an unknown --fused mode", async () => {
    const r = await run(["daemon", "--once", "--queue", db.url, "--db", db.url, "--fused", "maybe"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--fused/);
  });
});
