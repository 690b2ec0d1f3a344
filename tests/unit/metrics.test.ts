import { describe, expect, it } from "vitest";
import { createMetrics } from "../../src/daemon/prometheus-metrics.ts";

describe("createMetrics", () => {
  it("exposes every engine metric with the mudsync_ prefix in Prometheus text", async () => {
    const m = createMetrics();
    m.eventsApplied.inc(3);
    m.eventsDuplicate.inc();
    m.conflicts.inc({ resolution: "resubmitted" });
    m.conflicts.inc({ resolution: "parked" }, 2);
    m.retries.inc();
    m.dead.inc();
    m.rejected.inc();
    m.roundTrips.inc();
    m.batchSize.observe(100);
    m.enqueueToApplied.observe(0.2);
    m.oldestPendingAge.set(12);
    m.queueEvents.set({ status: "pending" }, 7);
    m.headStuck.set(1);
    const text = await m.text();
    for (const line of [
      "mudsync_events_applied_total 3",
      "mudsync_events_duplicate_total 1",
      'mudsync_conflicts_total{resolution="resubmitted"} 1',
      'mudsync_conflicts_total{resolution="parked"} 2',
      "mudsync_retries_total 1",
      "mudsync_dead_total 1",
      "mudsync_rejected_total 1",
      "mudsync_round_trips_total 1",
      'mudsync_batch_size_bucket{le="100"} 1',
      "mudsync_batch_size_count 1",
      'mudsync_enqueue_to_applied_seconds_bucket{le="0.25"} 1',
      "mudsync_oldest_pending_age_seconds 12",
      'mudsync_queue_events{status="pending"} 7',
      "mudsync_head_stuck 1",
    ]) {
      expect(text).toContain(line);
    }
    expect(text).not.toContain("process_cpu");
    expect(m.contentType).toMatch(/^text\/plain/);
  });

  it("keeps registries separate and adds process metrics only when asked", async () => {
    const a = createMetrics();
    const b = createMetrics({ processMetrics: true, defaultLabels: { worker: "w1" } });
    a.eventsApplied.inc();
    expect(await b.text()).toContain('mudsync_events_applied_total{worker="w1"} 0');
    expect(await b.text()).toContain("mudsync_process_cpu_user_seconds_total");
    expect(await a.text()).toContain("mudsync_events_applied_total 1");
  });
});
