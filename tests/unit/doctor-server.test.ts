import { describe, expect, it } from "vitest";
import { check, ev, ofKind } from "./doctor-fixture.ts";

const SERVER = { entities: new Set(["well", "chart_data_source", "curve", "polygon"]), maxPayloadBytes: 1_048_576, label: "postgres://u:***@db/app" };

describe("doctor: applied-not-completed", () => {
  it("reports events the server applied that are not completed here", async () => {
    const applied = new Set<string>();
    const pending = ev();
    const failed = ev({ status: "failed", retryCount: 2, nextAttemptAt: Date.now() });
    const completed = ev({ status: "completed" });
    for (const e of [pending, failed, completed]) applied.add(e.id);
    const [f] = ofKind(
      await check([pending, failed, completed, ev()], { server: SERVER, facts: (e) => ({ applied: applied.has(e.id), rowVersion: null }) }),
      "applied-not-completed",
    );
    expect(f).toMatchObject({ severity: "warning", eventIds: [pending.id, failed.id] });
    expect(f!.evidence).toContain("1 pending, 1 failed");
    expect(f!.fix).toBe(`mudsync --store /tmp/s --db 'postgres://u:***@db/app' queue replay --ids ${pending.id},${failed.id}`);
  });
});

describe("doctor: stale-base-version", () => {
  it("reports unfinished events whose baseVersion is behind the server row", async () => {
    const stale = ev({ entityId: "w-a", baseVersion: 2 });
    const current = ev({ entityId: "w-b", baseVersion: 5 });
    const noBase = ev({ entityId: "w-c" });
    const doneStale = ev({ entityId: "w-a", baseVersion: 1, status: "completed" });
    const versions: Record<string, number> = { "w-a": 7, "w-b": 5, "w-c": 9 };
    const [f, ...rest] = ofKind(
      await check([stale, current, noBase, doneStale], { server: SERVER, facts: (e) => ({ applied: false, rowVersion: versions[e.entityId] ?? null }) }),
      "stale-base-version",
    );
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ severity: "warning", eventIds: [stale.id] });
    expect(f!.evidence).toContain("by up to 5 versions");
  });

  it("makes no server finding without a server", async () => {
    const findings = await check([ev({ baseVersion: 1 })]);
    expect(ofKind(findings, "stale-base-version")).toEqual([]);
    expect(ofKind(findings, "applied-not-completed")).toEqual([]);
  });
});
