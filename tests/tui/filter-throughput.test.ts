/**
 * The dashboard's pure parts: the `/` filter's words (statuses, entity, order, errors) and back;
 * the throughput derived between two snapshots of a source without its own, and the sparkline.
 */
import { describe, expect, it } from "vitest";
import { formatFilter, parseFilter } from "../../src/tui/top/filter.ts";
import { ratesOf, sparkline, withDerivedThroughput } from "../../src/tui/top/throughput.ts";
import type { TopSnapshot } from "../../src/tui/top/model.ts";

describe("parseFilter", () => {
  it("reads statuses, an entity and the order, bare or keyed", () => {
    expect(parseFilter("failed,dead")).toEqual({ filter: { statuses: ["failed", "dead"], order: "asc" } });
    expect(parseFilter("status:pending entity:well newest")).toEqual({ filter: { statuses: ["pending"], entity: "well", order: "desc" } });
    expect(parseFilter("chart_data_source order:oldest")).toEqual({ filter: { entity: "chart_data_source", order: "asc" } });
    expect(parseFilter("  ")).toEqual({ filter: { order: "asc" } });
  });

  it("refuses a bad status, order or key with what was expected", () => {
    expect(parseFilter("status:done")).toEqual({ error: 'status "done": expected pending, processing, completed, failed, dead' });
    expect(parseFilter("order:sideways")).toEqual({ error: "order:sideways: expected order:newest or order:oldest" });
    expect(parseFilter("color:red")).toEqual({ error: '"color:red": expected status:S,S, entity:NAME, newest or oldest' });
  });

  it("formats a filter as the words that parse back to it", () => {
    const f = { statuses: ["failed" as const], entity: "well", order: "desc" as const };
    expect(formatFilter(f)).toBe("status:failed entity:well newest");
    expect(parseFilter(formatFilter(f))).toEqual({ filter: f });
  });
});

type Snap = Omit<TopSnapshot, "findings">;
const snap = (at: number, completed: number, dead = 0, throughput: Snap["throughput"] = null): Snap => ({
  source: { kind: "store", label: "s", readOnly: true },
  at,
  counts: { pending: 0, processing: 0, completed, failed: 0, dead },
  oldestPending: null,
  daemon: null,
  throughput,
  inFlight: null,
  changes: null,
  conflicts: null,
  page: { events: [], next: null, after: null },
});

describe("throughput", () => {
  it("derives events settled per second between refreshes of a source that keeps none", () => {
    const a = withDerivedThroughput(undefined, snap(1000, 100));
    expect(a.throughput).toEqual({ bucketMs: 1000, buckets: [] });
    const b = withDerivedThroughput(a, snap(3000, 300, 20));
    expect(ratesOf(b)).toEqual([110]);
    const c = withDerivedThroughput(b, snap(4000, 300, 20));
    expect(ratesOf(c)).toEqual([110, 0]);
  });

  it("keeps a daemon's own buckets and scales them to per second", () => {
    const own = snap(1000, 0, 0, { bucketMs: 500, buckets: [1, 2] });
    expect(withDerivedThroughput(snap(0, 0), own)).toBe(own);
    expect(ratesOf(own)).toEqual([2, 4]);
  });

  it("draws a sparkline scaled to the largest value, the last `width` values", () => {
    expect(sparkline([0, 4, 8], 10)).toBe("▁▅█");
    expect(sparkline([0, 0], 10)).toBe("▁▁");
    expect(sparkline([1, 2, 3, 4], 2)).toBe("▆█");
  });
});
