import { describe, expect, it } from "vitest";
import { resolveConflict, type ConflictDecision } from "../../src/core/conflict.ts";
import type { WireEvent } from "../../src/core/ports.ts";
import { applyToModel, createModel } from "../helpers/fakes.ts";

const wellUpdate = (payload: Record<string, unknown>, baseVersion = 2): WireEvent => ({
  id: "ev1",
  type: "update",
  entity: "well",
  entityId: "w1",
  payload,
  timestamp: 1,
  baseVersion,
  coalesced: ["ev0"],
});
const chartEvent = (type: WireEvent["type"], payload: Record<string, unknown>): WireEvent => ({
  id: "cv1",
  type,
  entity: "chart_data_source",
  entityId: "c1",
  payload,
  timestamp: 1,
  baseVersion: 2,
});

/** The merge strategy on one event. */
const merge = (event: WireEvent, current: { version: number; data: unknown }, base?: unknown) =>
  resolveConflict({ strategy: "merge", event, current, base });

function resubmitted(d: ConflictDecision): WireEvent {
  if (d.kind !== "resubmit") throw new Error(`expected resubmit, got ${d.kind}: ${d.audit.reason}`);
  return d.event;
}

describe("resolveConflict strategies", () => {
  const current = { version: 5, data: { name: "Remote", depth: 10 } };

  it("local-wins resubmits the same edit on the current version, keeping coalesced ids", () => {
    const d = resolveConflict({ strategy: "local-wins", event: wellUpdate({ name: "Local" }), current });
    expect(resubmitted(d)).toEqual({ ...wellUpdate({ name: "Local" }), baseVersion: 5 });
    expect(d.audit).toMatchObject({
      eventId: "ev1",
      strategy: "local-wins",
      decision: "resubmit",
      baseVersion: 2,
      currentVersion: 5,
    });
  });

  it("local-wins on a row deleted remotely drops the baseVersion so it cannot conflict again", () => {
    const gone = { version: 6, data: null };
    const d = resolveConflict({ strategy: "local-wins", event: wellUpdate({ name: "L" }), current: gone });
    expect(resubmitted(d).baseVersion).toBeUndefined();
  });

  it("remote-wins drops the edit and asks for its optimistic rollback", () => {
    const d = resolveConflict({ strategy: "remote-wins", event: wellUpdate({ name: "Local" }), current });
    expect(d).toMatchObject({ kind: "drop", rollback: true, audit: { decision: "drop", strategy: "remote-wins" } });
  });

  it("manual parks the event", () => {
    const d = resolveConflict({ strategy: "manual", event: wellUpdate({ name: "Local" }), current });
    expect(d).toMatchObject({ kind: "park", audit: { decision: "park", reason: "parked for manual resolution" } });
  });
});

describe("resolveConflict merge: documents", () => {
  it("sends only what the three-way merge changes, and reports both-sided changes", () => {
    const base = { name: "Base", depth: 10, status: "new" };
    const current = { version: 5, data: { name: "Remote", depth: 12, status: "new" } };
    // the form sent every field; only status and name were edited locally
    const d = resolveConflict({
      strategy: "merge",
      event: wellUpdate({ name: "Local", depth: 10, status: "done" }),
      current,
      base,
    });
    const ev = resubmitted(d);
    expect(ev.payload).toEqual({ name: "Local", status: "done" });
    expect(ev.baseVersion).toBe(5);
    expect(d.audit.conflictFields).toEqual(["name"]);
  });

  it("without a base, the fields the event touches win", () => {
    const d = merge(wellUpdate({ depth: 3 }), { version: 5, data: { depth: 1, x: 1 } });
    expect(resubmitted(d).payload).toEqual({ depth: 3 });
  });

  it("drops without rollback when the remote already has the change", () => {
    const d = merge(wellUpdate({ depth: 12 }), { version: 5, data: { depth: 12 } }, { depth: 1 });
    expect(d).toMatchObject({ kind: "drop", rollback: false });
  });

  it("an update of a removed row is dropped with rollback; a remove is resubmitted", () => {
    const gone = { version: 7, data: null };
    expect(merge(wellUpdate({ a: 1 }), gone)).toMatchObject({ kind: "drop", rollback: true });
    const rm: WireEvent = { ...wellUpdate({}), type: "remove" };
    expect(resubmitted(merge(rm, { version: 7, data: { a: 1 } })).type).toBe("remove");
  });

  it("the resubmitted merge, applied by the server, yields the merged row", () => {
    const model = createModel();
    const put = (id: string, payload: Record<string, unknown>) =>
      applyToModel(model, { id, type: "update", entity: "well", entityId: "w1", payload, timestamp: 1 });
    put("s1", { name: "Base", depth: 10, status: "new" }); // v1
    const base = model.rows.get("well:w1")?.data;
    put("s2", { depth: 12 }); // v2: a remote edit
    const local: WireEvent = {
      ...wellUpdate({ status: "done", depth: 10 }, 1),
      id: "l1",
      coalesced: undefined,
    };
    const conflict = applyToModel(model, local);
    expect(conflict.outcome).toBe("conflict");
    const d = merge(local, { version: conflict.version ?? 0, data: conflict.current }, base);
    expect(applyToModel(model, resubmitted(d)).outcome).toBe("applied");
    expect(model.rows.get("well:w1")?.data).toEqual({ name: "Base", depth: 12, status: "done" });
  });
});

describe("resolveConflict merge: chart entries", () => {
  const chart = (...entries: Record<string, unknown>[]) => ({ data_source_config: entries });

  it("an entry deselected remotely does not come back through a local update or re-add", () => {
    const base = chart({ id: "x", color: "red" });
    const current = { version: 4, data: chart() };
    const dropped = { kind: "drop", rollback: true };
    expect(merge(chartEvent("update", { id: "x", color: "blue" }), current, base)).toMatchObject(dropped);
    expect(merge(chartEvent("add", { id: "x", color: "blue" }), current, base)).toMatchObject(dropped);
  });

  it("a local deselection is kept over a remote edit of that entry", () => {
    const current = { version: 4, data: chart({ id: "x", color: "green" }) };
    const d = merge(chartEvent("remove", { id: "x" }), current, chart({ id: "x", color: "red" }));
    expect(resubmitted(d)).toMatchObject({ type: "remove", payload: { id: "x" }, baseVersion: 4 });
  });

  it("a new local selection is resubmitted; one added on both sides merges field-wise", () => {
    const current = { version: 4, data: [{ id: "y", width: 2, color: "red" }] };
    const fresh = merge(chartEvent("add", { id: "n", color: "blue" }), current, []);
    expect(resubmitted(fresh).payload).toEqual({ id: "n", color: "blue" });
    const d = merge(chartEvent("add", { id: "y", color: "blue" }), current, []);
    expect(resubmitted(d)).toMatchObject({ type: "add", payload: { id: "y", width: 2, color: "blue" } });
    expect(d.audit.conflictFields).toEqual(["color"]);
  });

  it("an entry update merges field-wise against the remote entry", () => {
    const d = resolveConflict({
      strategy: "merge",
      event: chartEvent("update", { id: "x", color: "blue", width: 1 }),
      current: { version: 4, data: chart({ id: "x", color: "red", width: 3 }) },
      base: chart({ id: "x", color: "red", width: 1 }),
    });
    expect(resubmitted(d).payload).toEqual({ id: "x", color: "blue" });
  });
});
