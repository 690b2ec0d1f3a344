import { describe, expect, it } from "vitest";
import { check, ev, healthyQueue, NOW, ofKind } from "./doctor-fixture.ts";

describe("doctor: a healthy queue", () => {
  it("has no finding", async () => {
    expect(await check(healthyQueue())).toEqual([]);
  });
});

describe("doctor: stuck-processing", () => {
  it("reports processing events with no lease or an expired one, not those under a live lease", async () => {
    const noLease = ev({ status: "processing" });
    const expired = ev({ status: "processing", leaseUntil: NOW - 1000 });
    const live = ev({ status: "processing", leaseUntil: NOW + 1000 });
    const [f, ...rest] = ofKind(await check([noLease, expired, live, ev()]), "stuck-processing");
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ severity: "error", eventIds: [noLease.id, expired.id], moreEvents: 0 });
    expect(f!.evidence).toContain("1 without a lease, 1 with a lease that expired");
    expect(f!.fix).toBe("mudsync --store /tmp/s queue replay --status processing");
  });

  it("caps the ids it lists and counts the rest", async () => {
    const events = Array.from({ length: 25 }, () => ev({ status: "processing" }));
    const [f] = ofKind(await check(events, { sampleSize: 10 }), "stuck-processing");
    expect(f!.eventIds).toHaveLength(10);
    expect(f!.moreEvents).toBe(15);
    expect(f!.title).toBe("25 events stuck in processing");
  });
});

describe("doctor: failed-never-retried", () => {
  it("reports failed events without a next attempt, not those with one", async () => {
    const stuck = ev({ status: "failed", retryCount: 3 });
    const scheduled = ev({ status: "failed", retryCount: 3, nextAttemptAt: NOW + 5000 });
    const [f, ...rest] = ofKind(await check([stuck, scheduled]), "failed-never-retried");
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ severity: "warning", eventIds: [stuck.id] });
    expect(f!.evidence).toContain("1 at 3");
    expect(f!.fix).toBe("mudsync --store /tmp/s queue replay --status failed");
  });
});

describe("doctor: backoff-storm", () => {
  it("reports many late retries due within the same second", async () => {
    const storm = Array.from({ length: 30 }, (_, i) =>
      ev({ status: "failed", retryCount: 5, nextAttemptAt: NOW + 60_000 + (i % 7) * 100, lastError: "503" }),
    );
    const [f] = ofKind(await check([...storm, ev()]), "backoff-storm");
    expect(f).toMatchObject({ severity: "warning", moreEvents: 20 });
    expect(f!.eventIds).toHaveLength(10);
    expect(f!.title).toContain("30 events");
  });

  it("does not report retries spread out in time, or early retries bunched together", async () => {
    const spread = Array.from({ length: 30 }, (_, i) => ev({ status: "failed", retryCount: 5, nextAttemptAt: NOW + i * 5000 }));
    const early = Array.from({ length: 30 }, () => ev({ status: "failed", retryCount: 1, nextAttemptAt: NOW + 1000 }));
    expect(ofKind(await check([...spread, ...early]), "backoff-storm")).toEqual([]);
  });
});
