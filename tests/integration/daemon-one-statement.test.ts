/**
 * `mudsync daemon --queue URL --db URL` picks the one-statement drain (one transaction per batch)
 * when both name the same database, says so in its log, and drains on it; `--one-statement off`
 * keeps the leased path; `--one-statement on` where it cannot work is one clear error line and
 * exit 2. The former flag `--fused` is still accepted, hidden from --help, and the log keeps the
 * name "fused" for this drain (the startup line's `event`, the batch lines' `source`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import type { QueuedEvent } from "../../src/core/event.ts";
import { openPostgresQueueStore } from "../../src/stores/postgres/index.ts";
import { errorLines, run } from "../cli/queue-run.ts";
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

describe.runIf(await realPgAvailable())("daemon on the one-statement drain", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("mudsync_daemon_one_statement");
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

  it("same database: one statement per batch, every event applied once and completed", async () => {
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

  // the former flag name must keep working for existing scripts
  for (const flag of ["--one-statement", "--fused"]) {
    it(`${flag} off keeps the leased path`, async () => {
      const prefix = flag === "--fused" ? "dlf" : "dl";
      await enqueue(prefix, 10);
      const once = await run(["daemon", "--once", "--queue", db.url, "--db", db.url, flag, "off", "--json"]);
      expect(once.code, once.stderr).toBe(0);
      const logs = logLines(once.stderr);
      expect(logs.find((l) => l.event === "fused")).toMatchObject({ active: false, reason: "--one-statement off" });
      expect(logs.some((l) => l.source === "fused")).toBe(false);
      expect(JSON.parse(once.stdout)).toMatchObject({ drain: { drained: true, applied: 10 } });
    });

    it(`${flag} on where the sink is not in the queue's database: one error line, exit 2`, async () => {
      const other = await createTestDatabase("mudsync_daemon_one_statement_other");
      try {
        const r = await run(["daemon", "--once", "--queue", other.url, "--db", db.url, flag, "on"]);
        expect(r.code).toBe(2);
        // one error line besides the daemon's JSON log lines
        expect(errorLines(r.stderr).filter((l) => !l.startsWith("{"))).toEqual([
          expect.stringMatching(/^mudsync: --one-statement on: schema "mudsync" \(apply_batch\) is not installed in the queue's database/),
        ]);
      } finally {
        await other.drop();
      }
    });

    it(`rejects an unknown ${flag} mode`, async () => {
      const r = await run(["daemon", "--once", "--queue", db.url, "--db", db.url, flag, "maybe"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${flag} <mode>' argument 'maybe' is invalid`);
    });
  }
});

describe("daemon --one-statement flag", () => {
  it("lists --one-statement in --help and hides its former name --fused", async () => {
    const r = await run(["daemon", "--help"]);
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, " ");
    expect(help).toMatch(/--one-statement <mode> with --queue: [^(]*\(choices: "auto", "on", "off", default: "auto"\)/);
    expect(help).toContain("(--one-statement auto, the default;");
    expect(help).not.toContain("--fused");
  });

  it("refuses --one-statement and --fused together: one error line, exit 2", async () => {
    const r = await run(["daemon", "--once", "--queue", "postgres://postgres@127.0.0.1:1/x", "--one-statement", "on", "--fused", "off"]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)[0]).toBe("error: option '--fused <mode>' cannot be used with option '--one-statement <mode>'");
  });
});
