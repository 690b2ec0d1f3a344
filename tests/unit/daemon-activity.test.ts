/**
 * The control API's read-only routes for the dashboard, served by a real Daemon over an in-memory
 * store: GET /v1/activity shows the batch in flight while the sink holds it, then the batch with
 * its outcomes, the events settled in the current second, the row changes the feed delivered and
 * the open conflicts the sink counts; GET /v1/event answers one event with its history, 404 for an
 * unknown id, 400 for a bad query. The daemon's status rides along, read without touching the
 * store. ActivityLog keeps its rings bounded and its buckets to a minute.
 */
import { afterEach, describe, expect, it } from "vitest";
import pino from "pino";
import { DEFAULTS } from "../../src/config/config.ts";
import type { ApplyResult, ChangeFeed, ConflictRecord, RowChange, Sink, WireEvent } from "../../src/core/ports.ts";
import { ActivityLog, ACTIVITY_BUCKETS } from "../../src/daemon/activity-log.ts";
import type { DaemonActivity, EventDetail } from "../../src/daemon/control-api.ts";
import { type ControlServer, startControlServer } from "../../src/daemon/control-server.ts";
import { Daemon } from "../../src/daemon/daemon.ts";
import { controlUrl } from "../../src/daemon/listen-address.ts";
import { createMetrics } from "../../src/daemon/prometheus-metrics.ts";
import { controlRoutes } from "../../src/daemon/routes.ts";
import { applyBatchToModel, createModel, makeEvent } from "../helpers/fakes.ts";
import { MemoryQueueStore } from "../helpers/memory-queue-store.ts";

/** A sink that holds each batch until `release()` and counts 3 open conflicts. */
class GatedSink implements Sink {
  readonly name = "gated";
  readonly capabilities = { supportsTransactions: true, supportsListen: false, supportsDryRun: false };
  readonly model = createModel();
  private gate: (() => void) | undefined;
  entered: Promise<void>;
  private enteredResolve!: () => void;
  constructor() {
    this.entered = new Promise((r) => (this.enteredResolve = r));
  }
  async applyBatch(events: WireEvent[]): Promise<ApplyResult[]> {
    await new Promise<void>((resolve) => {
      this.gate = resolve;
      this.enteredResolve();
    });
    return applyBatchToModel(this.model, events);
  }
  release() {
    this.gate?.();
  }
  async listConflicts(q?: { status?: "open" | "resolved"; limit?: number }): Promise<ConflictRecord[]> {
    expect(q).toMatchObject({ status: "open" });
    return Array.from({ length: 3 }, () => ({}) as ConflictRecord);
  }
  async dryRun(): Promise<never> {
    throw new Error("not used");
  }
  async getRow() {
    return null;
  }
  async close() {}
}

class ManualFeed implements ChangeFeed {
  emit: ((c: RowChange) => void) | undefined;
  async subscribe(onChange: (c: RowChange) => void) {
    this.emit = onChange;
    return async () => {};
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(sink: Sink, feed?: ChangeFeed) {
  const store = new MemoryQueueStore();
  const daemon = new Daemon({
    config: { ...DEFAULTS, batchSize: 50 },
    store,
    sink,
    ...(feed ? { feed } : {}),
    metrics: createMetrics(),
    logger: pino({ level: "silent" }),
    owner: "test:1",
    storeLabel: "memory",
    control: "none",
    pollMs: 20,
  });
  const server: ControlServer = await startControlServer({ kind: "tcp", host: "127.0.0.1", port: 0 }, { routes: controlRoutes(daemon), maxBodyBytes: 1 << 20, token: TOKEN });
  cleanups.push(async () => {
    if (sink instanceof GatedSink) sink.release();
    await daemon.stop();
    await server.close(100);
  });
  return { store, daemon, url: controlUrl(server.address) };
}

const TOKEN = "t".repeat(43);

const get = async <T,>(url: string) => {
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, json: (await res.json()) as T & { error?: string } };
};

describe("GET /v1/activity", () => {
  it("shows the batch in flight, then the batch, the settled events of this second, row changes and open conflicts", async () => {
    const sink = new GatedSink();
    const feed = new ManualFeed();
    const { store, daemon, url } = await serve(sink, feed);
    await store.enqueue(Array.from({ length: 4 }, (_, i) => makeEvent({ id: `e${i}`, entityId: `w${i}` })));
    await daemon.start();
    await sink.entered;
    const during = await get<DaemonActivity>(`${url}/v1/activity`);
    expect(during.status).toBe(200);
    expect(during.json.inFlight).toEqual([{ source: "drain", events: 4, startedAt: expect.any(String) }]);
    expect(during.json.conflictsOpen).toBe(3);
    expect(during.json.conflictsMore).toBe(false);
    expect(during.json.status).toMatchObject({ paused: false, draining: true, owner: "test:1" });
    sink.release();
    await daemon.drainNow();
    feed.emit!({ entity: "well", id: "w1", version: 2, op: "update" });
    const after = (await get<DaemonActivity>(`${url}/v1/activity`)).json;
    expect(after.inFlight).toEqual([]);
    expect(after.batches[0]).toMatchObject({ source: "drain", events: 4, outcomes: { applied: 4 } });
    expect(after.throughput.buckets).toHaveLength(ACTIVITY_BUCKETS);
    expect(after.throughput.buckets.reduce((a, b) => a + b, 0)).toBe(4);
    expect(after.changes).toEqual([{ entity: "well", id: "w1", version: 2, op: "update", at: expect.any(String) }]);
  });

  it("refuses a query string", async () => {
    const { url } = await serve(new GatedSink());
    const r = await get(`${url}/v1/activity?x=1`);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/query/);
  });
});

describe("GET /v1/event", () => {
  it("answers one event with its history; 404 for an unknown id; 400 without an id", async () => {
    const sink = new GatedSink();
    const { store, daemon, url } = await serve(sink);
    await store.enqueue([makeEvent({ id: "one", entityId: "w9", timestamp: Date.now() - 5000 })]);
    // the status names the oldest pending event and its age (the dashboard reads it from /v1/activity)
    const before = await daemon.status();
    expect(before.oldestPending?.id).toBe("one");
    expect(before.oldestPending!.ageMs).toBeGreaterThanOrEqual(5000);
    await daemon.start();
    await sink.entered;
    sink.release();
    await daemon.drainNow();
    const found = await get<EventDetail>(`${url}/v1/event?id=one`);
    expect(found.status).toBe(200);
    expect(found.json.event).toMatchObject({ id: "one", status: "completed" });
    expect(found.json.history.map((h) => h.to)).toContain("completed");
    const missing = await get(`${url}/v1/event?id=nope`);
    expect(missing.status).toBe(404);
    expect(missing.json.error).toBe("no event with id nope in the store");
    const bad = await get(`${url}/v1/event`);
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/query\.id/);
  });
});

describe("ActivityLog", () => {
  it("keeps the last 20 batches and 20 changes, and only the last minute of buckets", () => {
    let now = 1_000_000;
    const log = new ActivityLog(() => now);
    for (let i = 0; i < 30; i++) {
      const t = log.started("drain", 10);
      log.ended(t, { source: "drain", events: 10, ms: 1, outcomes: { applied: 10, duplicate: 0, conflict: 0, deferred: 0, rejected: 0 } });
      log.changed({ entity: "well", id: `w${i}`, version: 1, op: "insert" });
      now += 1000;
    }
    const s = log.snapshot({ open: null, more: false });
    expect(s.batches).toHaveLength(20);
    expect(s.changes).toHaveLength(20);
    expect(s.changes[0]!.id).toBe("w29");
    expect(s.throughput.buckets.reduce((a, b) => a + b, 0)).toBe(300);
    now += 61_000;
    expect(log.snapshot({ open: null, more: false }).throughput.buckets.every((b) => b === 0)).toBe(true);
    const t = log.started("fused", 0);
    log.cancelled(t);
    expect(log.snapshot({ open: null, more: false }).inFlight).toEqual([]);
  });
});
