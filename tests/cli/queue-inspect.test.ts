/**
 * `queue show` and `queue stats` end to end on the sample export: the whole event with its payload
 * pretty-printed, unknown ids, and the stuck-queue statistics, from the store and from --file.
 */
import { describe, expect, it } from "vitest";
import { errorLines, run, sampleStore } from "./queue-run.ts";

const sample = sampleStore();
const SAMPLE = sample.sample;

describe("queue show", () => {
  it("prints the whole event with the payload pretty-printed", async () => {
    const r = await run(["queue", "show", "evt-015", "--store", sample.dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("event evt-015");
    expect(r.stdout).toMatch(/row: +well:well-1/);
    expect(r.stdout).toMatch(/retryCount: +5/);
    expect(r.stdout).toMatch(/lastError: +timeout/);
    expect(r.stdout).toMatch(/timestamp: +2024-05-01T09:32:00\.000Z \(\d+(\.\d)? y ago\)/);
    expect(r.stdout).toContain('    {\n      "name": "Brunnen Süd – 井 🛢️"\n    }');
  });

  it("--json gives the stored event unchanged", async () => {
    const r = await run(["queue", "show", "evt-017", "--store", sample.dir, "--json"]);
    const shown = JSON.parse(r.stdout);
    expect(shown.event.payload.values).toHaveLength(2000);
    expect(Array.isArray(shown.history)).toBe(true);
  });

  it("an unknown id is exit 2 with one line", async () => {
    const r = await run(["queue", "show", "no-such-event", "--store", sample.dir]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual(["mudsync: no event with id no-such-event in the store"]);
  });
});

describe("queue stats", () => {
  const expected = {
    total: 37,
    byStatus: { pending: 22, processing: 3, completed: 9, failed: 3, dead: 0 },
    byEntity: { well: 19, polygon: 13, chart_data_source: 2, curve: 2, annotation: 1 },
    oldestPending: expect.objectContaining({ id: "evt-016", timestamp: Date.UTC(2024, 4, 1, 9, 40) }),
    stuckProcessing: expect.objectContaining({ count: 3, noLease: 3, leaseExpired: 0 }),
    failed: { count: 3, retries: { "1": 1, "3": 1, "5": 1 } },
  };

  it("reports the stuck-queue symptoms from the store and from an export alike", async () => {
    const fromStore = JSON.parse((await run(["queue", "stats", "--store", sample.dir, "--json"])).stdout);
    expect(fromStore).toMatchObject(expected);
    expect(fromStore.stuckProcessing.sample.map((s: { id: string }) => s.id)).toEqual(["evt-010", "evt-011", "evt-012"]);
    expect(fromStore.payloadBytes.max).toBeGreaterThan(8000);
    expect(fromStore.payloadBytes.p50).toBeLessThan(100);
    const fromFile = JSON.parse((await run(["queue", "stats", "--file", SAMPLE, "--json"])).stdout);
    const strip = (s: Record<string, unknown>) => ({ ...s, source: undefined, oldestPending: { ...(s.oldestPending as object), ageMs: 0 } });
    expect(strip(fromFile)).toEqual(strip(fromStore));
  });

  it("prints a summary for people", async () => {
    const r = await run(["queue", "stats", "--store", sample.dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("37 events");
    expect(r.stdout).toContain("stuck in processing: 3 (3 without a lease, 0 with an expired lease)");
    expect(r.stdout).toContain("failed: 3 (retries 1x: 1, 3x: 1, 5x: 1)");
    // a human duration; --json keeps milliseconds
    expect(r.stdout).toMatch(/oldest pending: evt-016 \(\d+(\.\d)? y old\)/);
    const json = JSON.parse((await run(["queue", "stats", "--store", sample.dir, "--json"])).stdout);
    expect(json.oldestPending.ageMs).toBeGreaterThan(Date.now() - Date.UTC(2024, 4, 1, 9, 40) - 60_000);
  });
});
