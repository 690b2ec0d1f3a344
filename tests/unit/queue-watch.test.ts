import { describe, expect, it } from "vitest";
import type { EventStatus } from "../../src/core/event.ts";
import { createMetrics } from "../../src/daemon/prometheus-metrics.ts";
import type { ListPage, QueueStore } from "../../src/core/ports.ts";
import { createDaemonLogger } from "../../src/daemon/logger.ts";
import { COUNT_COST_FACTOR, QueueWatch } from "../../src/daemon/queue-watch.ts";
import { FakeClock, makeEvent } from "../helpers/fakes.ts";

/** A queue whose counting takes `countMs` of the monotonic clock, as a full count of a large shared queue does. */
function slowCountingStore(mono: { t: number }, countMs: number) {
  let pending = 5;
  const calls = { counts: 0, lists: 0 };
  const store = {
    async counts(): Promise<Record<EventStatus, number>> {
      calls.counts += 1;
      mono.t += countMs;
      return { pending, processing: 0, completed: 10 - pending, failed: 0, dead: 0 };
    },
    async list(): Promise<ListPage> {
      calls.lists += 1;
      return { events: pending > 0 ? [makeEvent({ id: "head", status: "pending", timestamp: 0 })] : [], next: null };
    },
  };
  return { store: store as unknown as QueueStore, calls, settle: (n: number) => (pending -= n) };
}

function watchOf(store: QueueStore, mono: { t: number }) {
  const metrics = createMetrics();
  const watch = new QueueWatch({
    store,
    metrics,
    logger: createDaemonLogger("silent"),
    clock: new FakeClock(),
    stuckAfterMs: 60_000,
    isPaused: () => false,
    monotonic: () => mono.t,
  });
  return { watch, metrics };
}

describe("QueueWatch pacing of the counts", () => {
  it("counts again on a periodic tick only once COUNT_COST_FACTOR times the last count's duration has passed", async () => {
    const mono = { t: 1000 };
    const { store, calls, settle } = slowCountingStore(mono, 100);
    const { watch, metrics } = watchOf(store, mono);

    await watch.tick();
    expect(calls.counts).toBe(1);
    expect(watch.counts.pending).toBe(5);

    // the head is read on every tick; the 100 ms count waits 50 × 100 ms
    settle(3);
    for (let i = 0; i < 4; i++) {
      mono.t += 1000;
      await watch.tick();
    }
    expect(calls.counts).toBe(1);
    expect(calls.lists).toBe(10);
    expect(watch.counts.pending).toBe(5);

    mono.t = 1100 + COUNT_COST_FACTOR * 100;
    await watch.tick();
    expect(calls.counts).toBe(2);
    expect(watch.counts.pending).toBe(2);
    expect(await metrics.text()).toContain('mudsync_queue_events{status="pending"} 2');
  });

  it("counts at once when asked for fresh counts (status and metrics requests)", async () => {
    const mono = { t: 0 };
    const { store, calls, settle } = slowCountingStore(mono, 200);
    const { watch } = watchOf(store, mono);
    await watch.tick();
    settle(5);
    await watch.tick(true);
    expect(calls.counts).toBe(2);
    expect(watch.counts.pending).toBe(0);
    expect(watch.head).toBeNull();
  });

  it("counts on every tick while counting is cheap", async () => {
    const mono = { t: 0 };
    const { store, calls } = slowCountingStore(mono, 1);
    const { watch } = watchOf(store, mono);
    for (let i = 0; i < 3; i++) {
      await watch.tick();
      mono.t += 2000;
    }
    expect(calls.counts).toBe(3);
  });
});
