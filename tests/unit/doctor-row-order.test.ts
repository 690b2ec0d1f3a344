import { describe, expect, it } from "vitest";
import { check, ev, NOW, ofKind } from "./doctor-fixture.ts";

describe("doctor: poison-head", () => {
  it("reports a failed event at the head of a row that holds back later events of the row", async () => {
    const later1 = ev({ entityId: "w-1", timestamp: NOW - 500 });
    const head = ev({ entityId: "w-1", status: "failed", retryCount: 4, nextAttemptAt: NOW + 1000, lastError: "22P02: bad value", timestamp: NOW - 9000 });
    const later2 = ev({ entityId: "w-1", timestamp: NOW - 100 });
    // the stream order is not the row order: the head arrives in the middle
    const [f, ...rest] = ofKind(await check([later1, ev({ entityId: "w-2" }), head, later2]), "poison-head");
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ severity: "error", eventIds: [head.id], moreEvents: 0 });
    expect(f!.evidence).toContain("2 later events");
    expect(f!.evidence).toContain("22P02: bad value");
    expect(f!.fix).toBe(`mudsync --store /tmp/s queue replay --ids ${head.id}`);
  });

  it("does not report a failed event that is not the head of its row, or alone in its row", async () => {
    const first = ev({ entityId: "w-3", timestamp: NOW - 9000 });
    const failedLater = ev({ entityId: "w-3", status: "failed", retryCount: 2, nextAttemptAt: NOW, timestamp: NOW - 100 });
    const alone = ev({ entityId: "w-4", status: "failed", retryCount: 2, nextAttemptAt: NOW });
    const completedBefore = ev({ entityId: "w-4", status: "completed", timestamp: NOW - 99_000 });
    expect(ofKind(await check([failedLater, first, alone, completedBefore]), "poison-head")).toEqual([]);
  });

  it("orders a row's edits by client and seq before timestamp, as the server does", async () => {
    // seq says the failed event comes last, although its timestamp is the earliest
    const a = ev({ entityId: "w-5", clientId: "c", seq: 1, timestamp: NOW - 100 });
    const failed = ev({ entityId: "w-5", clientId: "c", seq: 2, timestamp: NOW - 9000, status: "failed", retryCount: 1, nextAttemptAt: NOW });
    expect(ofKind(await check([failed, a]), "poison-head")).toEqual([]);
  });
});

describe("doctor: add-remove-reorder", () => {
  const chart = (type: "add" | "remove", entryId: string, t: number, entityId = "chart-1") =>
    ev({ type, entity: "chart_data_source", entityId, payload: { id: entryId }, timestamp: NOW - 100_000 + t });

  it("reports an add and a later remove of one entry when the entity's removes come first", async () => {
    const otherRemove = chart("remove", "z", 0, "chart-2"); // makes chart_data_source:remove the first group
    const add = chart("add", "x", 10);
    const remove = chart("remove", "x", 20);
    const [f, ...rest] = ofKind(await check([remove, otherRemove, add]), "add-remove-reorder");
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ severity: "warning", eventIds: [add.id, remove.id], moreEvents: 0 });
    expect(f!.evidence).toContain("chart_data_source:remove comes first");
    expect(f!.fix).toBe("mudsync --store /tmp/s queue drain");
  });

  it("reports a remove and a later re-add when the entity's adds come first", async () => {
    const otherAdd = chart("add", "z", 0, "chart-2");
    const remove = chart("remove", "x", 10);
    const add = chart("add", "x", 20);
    const [f] = ofKind(await check([otherAdd, remove, add]), "add-remove-reorder");
    expect(f!.eventIds).toEqual([remove.id, add.id]);
  });

  it("does not report pairs the grouping keeps in order, other entries, or events not pending", async () => {
    const add = chart("add", "x", 10);
    const remove = chart("remove", "x", 20); // adds come first: add then remove stays in order
    const addY = chart("add", "y", 30);
    const removeOtherEntry = chart("remove", "q", 40);
    const doneAdd = ev({ type: "add", entity: "well", entityId: "w", status: "completed", timestamp: NOW - 50_000 });
    const laterRemove = ev({ type: "remove", entity: "well", entityId: "w", timestamp: NOW - 40_000 });
    expect(ofKind(await check([add, remove, addY, removeOtherEntry, doneAdd, laterRemove]), "add-remove-reorder")).toEqual([]);
  });
});
