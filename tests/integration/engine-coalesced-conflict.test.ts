/**
 * Edits the engine coalesced into one wire event that then conflicts: each source edit must be
 * settled by its strategy in the row's order, not each on its own against the merged answer (an
 * entry selected then deselected would see the deselect dropped as "already removed" and the
 * select buried as superseded).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine.ts";
import { PgliteSink } from "../../src/sinks/pglite/pglite-sink.ts";
import { FakeClock, makeEvent } from "../helpers/fakes.ts";
import { MemoryQueueStore } from "../helpers/memory-queue-store.ts";
import { withMigratedPglite } from "../helpers/pglite-template.ts";

describe("a conflict on coalesced edits (embedded database)", () => {
  let dir: string;
  let sink: PgliteSink;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "mudsync-coalesced-conflict-"));
    await withMigratedPglite(dir);
    sink = await PgliteSink.open({ schema: "mudsync", dataDir: path.join(dir, "pglite"), migrate: true });
  });
  afterAll(async () => {
    await sink?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("an entry selected then deselected on a chart that moved meanwhile ends deselected, both edits completed, none dead", async () => {
    const chart = { entity: "chart_data_source", entityId: "ch1" };
    // another client made the chart v2 while this one still showed v1
    const other = await sink.applyBatch([
      { id: "o1", type: "add", ...chart, payload: { id: "curve-1", label: "one" }, timestamp: 1, clientId: "other", seq: 1 },
      { id: "o2", type: "add", ...chart, payload: { id: "curve-2", label: "two" }, timestamp: 2, clientId: "other", seq: 2 },
    ]);
    expect(other.map((r) => r.version)).toEqual([1, 2]);

    const clock = new FakeClock();
    const store = new MemoryQueueStore();
    const base = { ...chart, clientId: "tab", baseVersion: 1, retryCount: 0 };
    await store.enqueue([
      makeEvent({ id: "e1", type: "add", ...base, seq: 1, timestamp: clock.now() - 2, payload: { id: "curve-3", label: "three" } }),
      makeEvent({ id: "e2", type: "remove", ...base, seq: 2, timestamp: clock.now() - 1, payload: { id: "curve-3" } }),
    ]);
    const engine = new Engine({
      store, sink, clock,
      settings: {
        batchSize: 100, coalesce: true, leaseMs: 30_000, owner: "test",
        retry: { baseMs: 1000, maxMs: 30_000, jitter: 0, maxAttempts: 10 },
        strategyFor: () => "merge",
      },
    });
    const summary = await engine.drain();

    expect(summary.dead).toBe(0);
    expect(summary.superseded).toBe(0);
    expect(await store.get("e1")).toMatchObject({ status: "completed" });
    expect(await store.get("e2")).toMatchObject({ status: "completed" });
    const row = await sink.getRow("chart_data_source", "ch1");
    // selected (v3), then deselected (v4), each settled by merge on the chart as it was
    expect(row).toMatchObject({ version: 4, data: [{ id: "curve-1", label: "one" }, { id: "curve-2", label: "two" }] });
    expect(summary.conflicts.split).toBe(2);
  });
});
