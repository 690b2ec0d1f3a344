/**
 * POST /v1/retry is audited: the daemon records the events it moved back to pending in the
 * server's audit log with who asked (the request's actor, else "control API"); a server that
 * cannot record it is logged and the retry still happens.
 */
import { describe, expect, it } from "vitest";
import pino from "pino";
import { Writable } from "node:stream";
import { DEFAULTS } from "../../src/config/config.ts";
import { createMetrics } from "../../src/daemon/prometheus-metrics.ts";
import type { ApplyResult, Sink, WireEvent } from "../../src/core/ports.ts";
import { Daemon } from "../../src/daemon/daemon.ts";
import { FakeClock, makeEvent } from "../helpers/fakes.ts";
import { MemoryQueueStore } from "../helpers/memory-queue-store.ts";

class AuditedSink implements Sink {
  readonly name = "audited";
  readonly capabilities = { supportsTransactions: true, supportsListen: false, supportsDryRun: false };
  recorded: { ids: string[]; actor: string; reason: string }[] = [];
  broken = false;
  async applyBatch(events: WireEvent[]): Promise<ApplyResult[]> {
    return events.map((e) => ({ id: e.id, outcome: "applied" as const, version: 1 }));
  }
  async dryRun(): Promise<never> {
    throw new Error("not used");
  }
  async getRow(): Promise<null> {
    return null;
  }
  async recordReplays(events: { id: string }[], actor: string, reason: string): Promise<number> {
    if (this.broken) throw new Error('function mudsync.record_replays(jsonb, text, text) does not exist');
    this.recorded.push({ ids: events.map((e) => e.id), actor, reason });
    return events.length;
  }
  async close(): Promise<void> {}
}

function setup() {
  const store = new MemoryQueueStore();
  const sink = new AuditedSink();
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: "info" }, new Writable({ write: (c: Buffer, _e, done) => (logs.push(JSON.parse(c.toString()) as Record<string, unknown>), done()) }));
  const daemon = new Daemon({
    config: DEFAULTS, store, sink, metrics: createMetrics(), logger, owner: "test:1", storeLabel: "memory", control: "none",
    clock: new FakeClock(), pollMs: 1, watchMs: 60_000,
  });
  return { store, sink, logs, daemon };
}

describe("retry through the daemon", () => {
  it("records the moved events with the actor; unknown ids are not recorded", async () => {
    const { store, sink, daemon } = setup();
    await store.put([makeEvent({ id: "e1", status: "dead" }), makeEvent({ id: "e2", status: "completed" }), makeEvent({ id: "e3", status: "pending" })]);
    const r = await daemon.retry({ ids: ["e1", "e2", "nope"], actor: "carol" });
    expect(r.moved).toBe(2);
    expect(sink.recorded).toEqual([{ ids: ["e1", "e2"], actor: "carol", reason: "POST /v1/retry" }]);
    await daemon.retry({ statuses: ["pending"] });
    expect(sink.recorded[1]).toMatchObject({ actor: "control API" });
    expect(sink.recorded[1]!.ids).toContain("e3");
  });

  it("a server that cannot record it gets a warning; the events are moved all the same", async () => {
    const { store, sink, logs, daemon } = setup();
    sink.broken = true;
    await store.put([makeEvent({ id: "e1", status: "dead" })]);
    expect((await daemon.retry({ ids: ["e1"] })).moved).toBe(1);
    expect((await store.get("e1"))?.status).toBe("pending");
    expect(logs.find((l) => l.event === "replay_not_audited")?.err).toContain("record_replays");
  });
});
