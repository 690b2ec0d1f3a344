/**
 * A daemon whose server goes away: passes that find it unreachable give their events back
 * unchanged (no attempt counted, so an outage never walks events to `dead`), the pause between
 * passes backs off (1 s, 2 s, 4 s … capped at 30 s), and the queue drains once the server is back.
 */
import { afterEach, describe, expect, it } from "vitest";
import pino from "pino";
import { Writable } from "node:stream";
import { DEFAULTS } from "../../src/config/config.ts";
import { createMetrics } from "../../src/daemon/prometheus-metrics.ts";
import type { ApplyResult, ChangeFeed, RowChange, Sink, WireEvent } from "../../src/core/ports.ts";
import { Daemon } from "../../src/daemon/daemon.ts";
import { SinkUnreachableError } from "../../src/errors.ts";
import { FakeClock, applyBatchToModel, createModel, makeEvent } from "../helpers/fakes.ts";
import { MemoryQueueStore } from "../helpers/memory-queue-store.ts";

class FlakySink implements Sink {
  readonly name = "flaky";
  readonly capabilities = { supportsTransactions: true, supportsListen: false, supportsDryRun: false };
  readonly model = createModel();
  down = true;
  calls = 0;
  async applyBatch(events: WireEvent[]): Promise<ApplyResult[]> {
    this.calls += 1;
    if (this.down) throw new SinkUnreachableError("flaky sink: connect ECONNREFUSED 127.0.0.1:1", "ECONNREFUSED");
    return applyBatchToModel(this.model, events);
  }
  async dryRun(): Promise<never> {
    throw new Error("not used");
  }
  async getRow(): Promise<null> {
    return null;
  }
  async close(): Promise<void> {}
}

const daemons: Daemon[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop();
});

/** a change feed that refuses the first `failures` subscriptions */
class FlakyFeed implements ChangeFeed {
  attempts = 0;
  unsubscribed = 0;
  constructor(private failures: number) {}
  async subscribe(_onChange: (change: RowChange) => void): Promise<() => Promise<void>> {
    this.attempts += 1;
    if (this.failures-- > 0) throw new SinkUnreachableError("cannot LISTEN: connect ECONNREFUSED 127.0.0.1:1", "ECONNREFUSED");
    return async () => {
      this.unsubscribed += 1;
    };
  }
}

function setup(feed?: ChangeFeed) {
  const clock = new FakeClock();
  const store = new MemoryQueueStore();
  const sink = new FlakySink();
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: "info" },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  );
  const daemon = new Daemon({
    config: { ...DEFAULTS, batchSize: 10 },
    store,
    sink,
    metrics: createMetrics(),
    logger,
    owner: "test:1",
    storeLabel: "memory",
    control: "none",
    clock,
    ...(feed ? { feed } : {}),
    pollMs: 1,
    watchMs: 60_000,
  });
  daemons.push(daemon);
  return { clock, store, sink, logs, daemon };
}

/**
 * Lets the loop run (its idle poll is a real 1 ms timer) until it sleeps on the clock again or
 * `done` holds (at most ~5 s).
 */
async function idle(clock: FakeClock, done: () => boolean = () => false): Promise<void> {
  for (let i = 0; i < 2500 && clock.sleeping === 0 && !done(); i++) await new Promise((r) => setTimeout(r, 2));
}

describe("daemon during a server outage", () => {
  it("backs off between passes, charges no attempt, and drains once the server answers", async () => {
    const { clock, store, sink, logs, daemon } = setup();
    await store.enqueue(Array.from({ length: 5 }, (_, i) => makeEvent({ id: `e${i}`, type: "add", entityId: `w${i}`, payload: { id: `w${i}` } })));
    await daemon.start();
    for (let pass = 0; pass < 7; pass++) {
      await idle(clock);
      const pauses = logs.filter((l) => l.event === "sink_unreachable").map((l) => l.retryInMs);
      await clock.advance((pauses.at(-1) as number | undefined) ?? 0);
    }
    await idle(clock);
    const pauses = logs.filter((l) => l.event === "sink_unreachable").map((l) => l.retryInMs);
    expect(pauses.slice(0, 7)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(await store.counts()).toMatchObject({ pending: 5, processing: 0, failed: 0, dead: 0 });
    for (let i = 0; i < 5; i++) {
      const e = await store.get(`e${i}`);
      expect(e?.attempts).toBeUndefined();
      expect(e?.lastError).toBeUndefined();
    }
    const callsWhileDown = sink.calls;
    sink.down = false;
    const allCompleted = () => [...store.events.values()].every((e) => e.status === "completed");
    for (let i = 0; i < 5 && !allCompleted(); i++) {
      await clock.advance(30_000);
      await idle(clock, allCompleted);
    }
    expect(sink.calls).toBeGreaterThan(callsWhileDown);
    expect(await store.counts()).toMatchObject({ completed: 5, pending: 0 });
    // the backoff starts over after a pass that worked
    const outages = () => logs.filter((l) => l.event === "sink_unreachable");
    const seen = outages().length;
    sink.down = true;
    await store.enqueue([makeEvent({ id: "e9", type: "add", entityId: "w9", payload: { id: "w9" } })]);
    for (let i = 0; i < 3 && outages().length === seen; i++) {
      await clock.advance(1000);
      await idle(clock);
    }
    expect(outages().slice(seen).map((l) => l.retryInMs)[0]).toBe(1000);
  });

  it("a daemon started while the change feed is down keeps trying to subscribe, 1 s, 2 s, 4 s … apart", async () => {
    const feed = new FlakyFeed(3);
    const { clock, logs, daemon } = setup(feed);
    await daemon.start();
    const feedLogs = () => logs.filter((l) => l.event === "feed");
    expect(feedLogs()).toEqual([expect.objectContaining({ active: false, retryInMs: 1000 })]);
    for (const wait of [1000, 2000, 4000]) {
      await clock.advance(wait);
      await idle(clock, () => logs.some((l) => l.event === "feed" && l.active === true));
    }
    expect(feed.attempts).toBe(4);
    expect(feedLogs().map((l) => [l.active, l.retryInMs])).toEqual([
      [false, 1000],
      [false, 2000],
      [false, 4000],
      [true, undefined],
    ]);
    await daemon.stop();
    expect(feed.unsubscribed).toBe(1);
  });
});
