import { describe, expect, it } from "vitest";
import { check, ev, NOW, ofKind } from "./doctor-fixture.ts";

const DAY = 86_400_000;

describe("doctor: clock-skew", () => {
  it("reports events stamped in the future beyond the tolerance", async () => {
    const ahead = ev({ timestamp: NOW + 3 * 3_600_000 });
    const drift = ev({ timestamp: NOW + 60_000 }); // a minute ahead is ordinary drift
    const [f, ...rest] = ofKind(await check([ahead, drift, ev()]), "clock-skew");
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ severity: "warning", eventIds: [ahead.id], title: "1 event stamped in the future" });
    expect(f!.fix).toBe(`mudsync --store /tmp/s queue replay --ids ${ahead.id} --dry-run`);
  });

  it("reports events far older than the rest of the queue", async () => {
    const recent = Array.from({ length: 40 }, (_, i) => ev({ timestamp: NOW - 3 * DAY + i * 60_000 }));
    const ancient = [ev({ timestamp: Date.parse("2001-01-01T00:00:00Z") }), ev({ timestamp: NOW - 200 * DAY })];
    const [f] = ofKind(await check([...recent, ...ancient]), "clock-skew");
    expect(f).toMatchObject({ title: "2 events far older than the rest of the queue", eventIds: [ancient[0]!.id, ancient[1]!.id], moreEvents: 0 });
  });

  it("does not report a queue spread evenly over months", async () => {
    const events = Array.from({ length: 60 }, (_, i) => ev({ timestamp: NOW - i * 3 * DAY }));
    expect(ofKind(await check(events), "clock-skew")).toEqual([]);
  });
});

describe("doctor: stuck-head", () => {
  it("reports a head older than stuckAfterMs from a running daemon's status", async () => {
    const daemon = { head: { id: "h1", status: "failed", sinceMs: 5 * 60_000 }, paused: false, control: "http://127.0.0.1:7777" };
    const [f] = ofKind(await check([ev()], { daemon, stuckAfterMs: 60_000 }), "stuck-head");
    expect(f).toMatchObject({ severity: "warning", eventIds: ["h1"], moreEvents: 0 });
    expect(f!.evidence).toContain("http://127.0.0.1:7777");
    expect(f!.fix).toBe("mudsync --store /tmp/s queue replay --ids h1");
  });

  it("does not report a young head, a paused daemon, or no daemon", async () => {
    const head = { id: "h1", status: "pending", sinceMs: 30_000 };
    expect(ofKind(await check([ev()], { daemon: { head }, stuckAfterMs: 60_000 }), "stuck-head")).toEqual([]);
    expect(ofKind(await check([ev()], { daemon: { head: { ...head, sinceMs: 600_000 }, paused: true } }), "stuck-head")).toEqual([]);
    expect(ofKind(await check([ev()]), "stuck-head")).toEqual([]);
  });
});
