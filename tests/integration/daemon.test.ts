/**
 * The daemon as a child process (`node bin/mudsync.js daemon …`), driven through its control API
 * and the CLI: it drains while events arrive through POST /v1/events and `queue enqueue`, reports
 * them in /metrics, pauses and resumes, answers browser batches with CORS, rejects bad requests,
 * and on SIGTERM exits 0 with every acknowledged event completed or pending. Once on the embedded
 * PGlite (one start for the whole file), once on the real server when it answers. The daemons, its
 * `--once` runs and the suite's `queue enqueue` are children; the other commands run in process,
 * and the embedded stores start from a copy of a migrated database.
 */
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { fixture, run, tempDirs } from "../cli/queue-run.ts";
import { runInProcess } from "../helpers/cli-in-process.ts";
import { withMigratedPglite } from "../helpers/pglite-template.ts";
import { startDaemon, type ChildDaemon } from "../helpers/daemon-process.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { openDexieStore } from "../../src/stores/dexie/index.ts";

const ORIGIN = "http://app.test:5173";
const MAX_BODY = 256 * 1024;

type Daemon = ChildDaemon;

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

const events = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    type: "update",
    entity: "well",
    entityId: `${prefix}-w${i % 7}`,
    payload: { name: `${prefix} ${i}` },
    clientId: prefix,
    seq: i,
  }));

async function status(d: Daemon) {
  return (await (await d.fetch(`${d.url}/v1/status`)).json()) as {
    paused: boolean;
    owner: string;
    counts: Record<string, number>;
    engine: { applied: number; duplicates: number };
  };
}

/** The daemon scenario, run against whichever sink the extra args select (none: the store's PGlite). */
function daemonSuite(label: string, extraArgs: () => string[]) {
  const dirs = tempDirs();
  let store: string;
  let d: Daemon;

  beforeAll(async () => {
    store = dirs.make("mudsync-daemon-");
    if (extraArgs().length === 0) await withMigratedPglite(store);
    d = await startDaemon(["--store", store, "--cors-origin", ORIGIN, "--max-body", String(MAX_BODY), ...extraArgs()]);
  });
  afterAll(async () => {
    if (d && d.child.exitCode === null) {
      d.child.kill("SIGKILL");
      await d.exited;
    }
    dirs.cleanup();
  });

  it(`${label}: drains events enqueued through the API and through \`queue enqueue\``, async () => {
    const res = await d.fetch(`${d.url}/v1/events`, json({ events: events(40, "api") }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { ids: string[] }).ids).toHaveLength(40);
    const ndjson = events(25, "cli").map((e) => JSON.stringify(e)).join("\n");
    const cli = await run(["queue", "enqueue", "-", "--json", "--store", store], { input: ndjson });
    expect(cli.code).toBe(0);
    expect(cli.stdout.trim().split("\n")).toHaveLength(25);
    expect(cli.stderr).toContain(`sending through ${d.url}`);
    const drained = (await (await d.fetch(`${d.url}/v1/drain-now`, { method: "POST" })).json()) as { left: Record<string, number> };
    expect(drained.left.pending).toBe(0);
    const s = await status(d);
    expect(s.counts.completed).toBe(65);
    expect(s.engine.applied).toBe(65);
    expect(s.owner).toMatch(/^daemon:/);
  });

  it(`${label}: /metrics and /healthz report the daemon`, async () => {
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toMatch(/^mudsync_events_applied_total 65$/m);
    expect(metrics).toMatch(/^mudsync_queue_events\{status="completed"\} 65$/m);
    const health = await fetch(`${d.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, paused: false });
  });

  it(`${label}: every other route needs the token from <store>/control-token (0600)`, async () => {
    expect((await fetch(`${d.url}/v1/status`)).status).toBe(401);
    expect((await fetch(`${d.url}/v1/pause`, { method: "POST", headers: { authorization: "Bearer not-the-token-not-the-token-1234" } })).status).toBe(401);
    expect(statSync(path.join(store, "control-token")).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(store, "control-token"), "utf8").trim()).toBe(d.token);
    expect((await status(d)).paused).toBe(false);
  });

  it(`${label}: pause holds new events back until resume`, async () => {
    expect(await (await d.fetch(`${d.url}/v1/pause`, { method: "POST" })).json()).toEqual({ paused: true });
    await d.fetch(`${d.url}/v1/events`, json({ events: events(5, "paused") }));
    const held = (await (await d.fetch(`${d.url}/v1/drain-now`, { method: "POST" })).json()) as { paused?: boolean };
    expect(held.paused).toBe(true);
    expect((await status(d)).counts.pending).toBe(5);
    await d.fetch(`${d.url}/v1/resume`, { method: "POST" });
    await d.fetch(`${d.url}/v1/drain-now`, { method: "POST" });
    const s = await status(d);
    expect(s.paused).toBe(false);
    expect(s.counts.completed).toBe(70);
  });

  it(`${label}: retry moves completed events back and the replay is a duplicate`, async () => {
    const r = (await (await d.fetch(`${d.url}/v1/retry`, json({ ids: ["api-0", "nope"] }))).json()) as {
      moved: number;
      skipped: { id: string }[];
    };
    expect(r).toMatchObject({ moved: 1, skipped: [{ id: "nope" }] });
    await d.fetch(`${d.url}/v1/drain-now`, { method: "POST" });
    expect((await status(d)).engine.duplicates).toBe(1);
    const page = (await (await d.fetch(`${d.url}/v1/events?status=completed&limit=3&order=oldest`)).json()) as {
      events: unknown[];
      next: string | null;
    };
    expect(page.events).toHaveLength(3);
    expect(page.next).not.toBeNull();
  });

  it(`${label}: POST /v1/batches applies a browser batch and answers per event, with CORS`, async () => {
    const pre = await d.fetch(`${d.url}/v1/batches`, {
      method: "OPTIONS",
      headers: { origin: ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const browser = [
      { id: "b-1", type: "add", entity: "chart_data_source", entityId: "chart-1", payload: { id: "src-1", name: "Gamma" }, timestamp: Date.now(), status: "pending", retryCount: 0 },
      { id: "b-2", type: "update", entity: "well", entityId: "browser-w", payload: { name: "W" }, timestamp: Date.now(), status: "pending", retryCount: 0 },
    ];
    const res = await d.fetch(`${d.url}/v1/batches`, json({ events: browser }, { origin: ORIGIN }));
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const body = (await res.json()) as { results: { id: string; outcome: string }[] };
    expect(body.results.map((r) => [r.id, r.outcome])).toEqual([
      ["b-1", "applied"],
      ["b-2", "applied"],
    ]);
    const again = (await (await d.fetch(`${d.url}/v1/batches`, json({ events: browser }))).json()) as typeof body;
    expect(again.results.map((r) => r.outcome)).toEqual(["duplicate", "duplicate"]);
    const foreign = await d.fetch(`${d.url}/v1/batches`, json({ events: browser }, { origin: "http://evil.test" }));
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    const control = await d.fetch(`${d.url}/v1/pause`, { method: "POST", headers: { origin: ORIGIN } });
    expect(control.status).toBe(403);
  });

  it(`${label}: bad requests get one-line reasons: 400, 404, 405, 413`, async () => {
    const bad = await d.fetch(`${d.url}/v1/batches`, json({ events: [{ id: "x", type: "add", entity: "well", payload: {}, timestamp: 1 }] }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^body\.events\.0\.entityId: /);
    const notJson = await d.fetch(`${d.url}/v1/events`, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect(notJson.status).toBe(400);
    const badEvent = await d.fetch(`${d.url}/v1/events`, json({ events: [{ type: "move", entity: "well", entityId: "w" }] }));
    expect(badEvent.status).toBe(400);
    expect(((await badEvent.json()) as { error: string }).error).toMatch(/^body\.events\.0: type: /);
    const badQuery = await d.fetch(`${d.url}/v1/events?status=lost`);
    expect(badQuery.status).toBe(400);
    expect((await d.fetch(`${d.url}/v2/nothing`)).status).toBe(404);
    expect((await d.fetch(`${d.url}/v1/pause`)).status).toBe(405);
    const big = await d.fetch(`${d.url}/v1/events`, json({ events: [{ pad: "x".repeat(MAX_BODY) }] }));
    expect(big.status).toBe(413);
  });

  it(`${label}: SIGTERM while events arrive exits 0 and loses no acknowledged event`, async () => {
    const acked: string[] = [];
    const senders = Array.from({ length: 8 }, async (_, k) => {
      for (let round = 0; round < 50; round++) {
        const res = await d.fetch(`${d.url}/v1/events`, json({ events: events(5, `term-${k}-${round}`) })).catch(() => undefined);
        if (!res || res.status !== 200) return;
        acked.push(...((await res.json()) as { ids: string[] }).ids);
      }
    });
    while (acked.length < 50) await new Promise((r) => setTimeout(r, 10));
    d.child.kill("SIGTERM");
    await Promise.all(senders);
    expect(await d.exited).toBe(0);
    const lines = d.logs();
    expect(lines.some((l) => l.event === "batch")).toBe(true);
    expect(lines.at(-1)).toMatchObject({ event: "stopped" });

    const reopened = await openDexieStore({ dir: store, mode: "read" });
    try {
      const found = await reopened.getMany(acked);
      const statuses = new Set(found.map((e) => e?.status ?? "missing"));
      expect([...statuses].every((s) => s === "completed" || s === "pending")).toBe(true);
    } finally {
      await reopened.close();
    }
  });
}

describe("daemon on the embedded PGlite", () => {
  daemonSuite("pglite", () => []);

  const dirs = tempDirs();
  afterAll(() => dirs.cleanup());

  it("queue import goes through the daemon that holds the store: same counts, all-or-nothing", async () => {
    const store = await withMigratedPglite(dirs.make("mudsync-daemon-import-"));
    const daemon = await startDaemon(["--store", store]);
    try {
      expect((await daemon.fetch(`${daemon.url}/v1/pause`, { method: "POST" })).status).toBe(200);
      const first = await runInProcess(["--store", store, "--json", "queue", "import", fixture("sample-export.json"), fixture("sample-cache-export.json")]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toContain(`held by the daemon (pid ${daemon.child.pid}); importing through`);
      const r1 = JSON.parse(first.stdout);
      expect(r1.events).toEqual({ inserted: 37, existing: 0, replaced: 0 });
      expect(r1.cache.inserted).toBeGreaterThan(0);
      expect(r1.via).toMatchObject({ daemon: daemon.child.pid });
      expect((await status(daemon)).counts).toMatchObject({ pending: 22, completed: 9, processing: 3, failed: 3 });

      const again = await runInProcess(["--store", store, "--json", "queue", "import", fixture("sample-export.json")]);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).events).toEqual({ inserted: 0, existing: 37, replaced: 0 });
      const replaced = await runInProcess(["--store", store, "queue", "import", "--replace", fixture("sample-export.json")]);
      expect(replaced.code, replaced.stderr).toBe(0);
      expect(replaced.stdout).toContain("events: 0 inserted, 37 replaced");
      expect(replaced.stdout).toContain(`written by the daemon (pid ${daemon.child.pid}`);

      // a file with a bad row, sent to the daemon directly: one 400 line, nothing of it stored
      const bad = await daemon.fetch(`${daemon.url}/v1/import`, json({ files: [fixture("browser-export.json"), fixture("malformed/bad-row.json")] }));
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toContain("bad-row.json");
      expect(Object.values((await status(daemon)).counts).reduce((a, b) => a + b, 0)).toBe(37);
      const relative = await daemon.fetch(`${daemon.url}/v1/import`, json({ files: ["fixtures/sample-export.json"] }));
      expect(relative.status).toBe(400);
      expect(((await relative.json()) as { error: string }).error).toContain("expected an absolute path");

      // the daemon drains what was imported once resumed
      expect((await daemon.fetch(`${daemon.url}/v1/resume`, { method: "POST" })).status).toBe(200);
      const drained = (await (await daemon.fetch(`${daemon.url}/v1/drain-now`, { method: "POST" })).json()) as { left: Record<string, number> };
      expect(drained.left.pending).toBe(0);
    } finally {
      daemon.child.kill("SIGTERM");
      expect(await daemon.exited).toBe(0);
    }
  });
});

describe.runIf(await realPgAvailable())("daemon on the real Postgres", () => {
  let db: TestDatabase;
  const dirs = tempDirs();

  beforeAll(async () => {
    db = await createTestDatabase("mudsync_daemon");
    const migrated = await runInProcess(["db", "migrate", "--db", db.url]);
    expect(migrated.code, migrated.stderr).toBe(0);
  });
  afterAll(async () => {
    dirs.cleanup();
    await db?.drop();
  });

  daemonSuite("postgres", () => ["--db", db.url]);

  it("queue drain and queue replay ask the daemon that holds the store instead of failing on the lock", async () => {
    const store = dirs.make("mudsync-daemon-via-");
    const daemon = await startDaemon(["--store", store, "--db", db.url]);
    try {
      expect((await daemon.fetch(`${daemon.url}/v1/pause`, { method: "POST" })).status).toBe(200);
      const ndjson = events(10, "via").map((e) => JSON.stringify(e)).join("\n");
      expect((await runInProcess(["queue", "enqueue", "-", "--store", store], { input: ndjson })).code).toBe(0);

      const paused = await runInProcess(["--store", store, "--json", "queue", "drain"]);
      expect(paused.code, paused.stderr).toBe(3);
      expect(paused.stderr).toContain(`held by the daemon (pid ${daemon.child.pid})`);
      expect(JSON.parse(paused.stdout)).toMatchObject({ via: "daemon", paused: true, drained: false, left: { pending: 10 } });

      expect((await daemon.fetch(`${daemon.url}/v1/resume`, { method: "POST" })).status).toBe(200);
      const drained = await runInProcess(["--store", store, "--json", "queue", "drain"]);
      expect(drained.code, drained.stderr).toBe(0);
      expect(JSON.parse(drained.stdout)).toMatchObject({ via: "daemon", drained: true, left: { pending: 0, completed: 10 } });

      const replay = await runInProcess(["--store", store, "queue", "replay", "--status", "completed", "--entity", "well"]);
      expect(replay.code, replay.stderr).toBe(0);
      expect(replay.stdout).toContain("requeued 10 events");
      expect(replay.stdout).toContain("queue drained");
      const s = await status(daemon);
      expect(s.engine.duplicates).toBe(10); // the replayed events were applied before
      expect(s.counts.completed).toBe(10);
    } finally {
      daemon.child.kill("SIGTERM");
      expect(await daemon.exited).toBe(0);
    }
  });

  it("a second signal while a batch hangs exits 130 at once, and the event stays in the store", async () => {
    const store = dirs.make("mudsync-daemon-force-");
    // hold the wells table so the daemon's apply_batch waits on its lock: a batch stays in flight
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    let daemon: Daemon | undefined;
    try {
      await blocker.query("BEGIN");
      await blocker.query("LOCK TABLE mudsync.wells IN EXCLUSIVE MODE");
      daemon = await startDaemon(["--store", store, "--db", db.url]);
      const res = await daemon.fetch(`${daemon.url}/v1/events`, json({ events: events(3, "force") }));
      expect(res.status).toBe(200);
      const waiting = async () =>
        (
          await blocker.query(
            "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()",
          )
        ).rows[0].n as number;
      while ((await waiting()) === 0) await new Promise((r) => setTimeout(r, 50));

      daemon.child.kill("SIGTERM");
      while (!daemon.logs().some((l) => l.event === "signal")) await new Promise((r) => setTimeout(r, 20));
      expect(daemon.child.exitCode).toBeNull(); // the first signal waits for the batch in flight
      daemon.child.kill("SIGTERM");
      expect(await daemon.exited).toBe(130);
      expect(daemon.logs().some((l) => l.event === "forced_exit")).toBe(true);
    } finally {
      await blocker.query("ROLLBACK");
      await blocker.end();
      if (daemon && daemon.child.exitCode === null) daemon.child.kill("SIGKILL");
    }
    // nothing acknowledged is lost: the events are still there and not completed
    const reopened = await openDexieStore({ dir: store, mode: "read" });
    try {
      const found = await reopened.getMany(["force-0", "force-1", "force-2"]);
      expect(found.map((e) => e?.status)).not.toContain(undefined);
      expect(found.map((e) => e?.status)).not.toContain("completed");
    } finally {
      await reopened.close();
    }
  });

  it("--once drains what is due and exits 0, or 3 when events end dead", async () => {
    const store = dirs.make("mudsync-daemon-once-");
    const ndjson = events(20, "once").map((e) => JSON.stringify(e)).join("\n");
    expect((await runInProcess(["queue", "enqueue", "-", "--store", store], { input: ndjson })).code).toBe(0);
    const once = await run(["daemon", "--once", "--store", store, "--db", db.url, "--json"]);
    expect(once.code, once.stderr).toBe(0);
    expect(JSON.parse(once.stdout)).toMatchObject({ once: true, drain: { drained: true, applied: 20 } });
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query("select count(*)::int as n from mudsync.applied_events where event_id like 'once-%'");
      expect(rows[0].n).toBe(20);
    } finally {
      await client.end();
    }
    const unknown = JSON.stringify({ type: "update", entity: "no_such_entity", entityId: "x", payload: {} });
    expect((await runInProcess(["queue", "enqueue", "-", "--store", store], { input: unknown })).code).toBe(0);
    const dead = await run(["daemon", "--once", "--store", store, "--db", db.url]);
    expect(dead.code).toBe(3);
    expect(dead.stdout).toContain("queue NOT drained");
  });
});
