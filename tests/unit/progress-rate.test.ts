/**
 * Rate and ETA of progress: RateMeter measures over the last seconds (a run that slows down shows
 * the slower rate), gives no rate before a quarter second has passed and an ETA of 0 when done;
 * createProgress adds `rate` and `etaMs` to NDJSON lines, keeps one meter while only the label
 * changes (a simulation's virtual time) and starts again for a new unit, total or count.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { RateMeter } from "../../src/core/rate-meter.ts";
import { createProgress } from "../../src/commands/shared/progress.ts";

describe("RateMeter", () => {
  it("gives the rate over the last 5 s and the time left at it", () => {
    let now = 0;
    const m = new RateMeter(() => now);
    expect(m.sample(0, 1000)).toEqual({ rate: null, etaMs: null });
    now = 100;
    expect(m.sample(10, 1000)).toEqual({ rate: null, etaMs: null });
    now = 1000;
    expect(m.sample(100, 1000)).toEqual({ rate: 100, etaMs: 9000 });
    // 10 s at 100/s, then 5 s at 10/s: the window sees the slow part only
    for (let t = 2000; t <= 10_000; t += 1000) {
      now = t;
      m.sample(t / 10, 2000);
    }
    for (let t = 11_000; t <= 16_000; t += 1000) {
      now = t;
      m.sample(1000 + (t - 10_000) / 100, 2000);
    }
    const slow = m.sample(1060, 2000);
    expect(slow.rate).toBeGreaterThan(9);
    expect(slow.rate).toBeLessThan(12);
    expect(slow.etaMs).toBeGreaterThan(70_000);
  });

  it("says 0 ms left when done, and no ETA without a total or while nothing moves", () => {
    let now = 0;
    const m = new RateMeter(() => now);
    m.sample(0);
    now = 1000;
    expect(m.sample(50)).toEqual({ rate: 50, etaMs: null });
    const stalled = new RateMeter(() => now);
    stalled.sample(5, 10);
    now = 2000;
    expect(stalled.sample(5, 10)).toEqual({ rate: 0, etaMs: null });
    now = 3000;
    expect(stalled.sample(10, 10)).toEqual({ rate: 2.5, etaMs: 0 });
  });

  it("gives a run shorter than a quarter second its average rate when it is over", () => {
    let now = 0;
    const m = new RateMeter(() => now);
    m.sample(0, 100);
    now = 100;
    expect(m.sample(60, 100)).toEqual({ rate: null, etaMs: null });
    now = 200;
    expect(m.sample(100, 100, true)).toEqual({ rate: 500, etaMs: 0 });
  });
});

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { lines, stream };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("createProgress", () => {
  it("adds rate and etaMs to NDJSON lines, across label changes of one stretch of work", async () => {
    const { lines, stream } = capture();
    const p = createProgress({ json: true, tty: false }, stream, 0);
    p.update({ phase: "sim 0 s/2 h virtual", done: 0, total: 100, unit: "actions" });
    await wait(300);
    p.update({ phase: "sim 1 h/2 h virtual", done: 50, total: 100, unit: "actions" });
    p.finish({ phase: "sim passed", done: 100, total: 100, unit: "actions" });
    expect(lines[0]).toEqual({ progress: true, phase: "sim 0 s/2 h virtual", done: 0, total: 100, unit: "actions", final: false });
    expect(lines[1]).toMatchObject({ done: 50, etaMs: expect.any(Number), rate: expect.any(Number) });
    expect(lines[2]).toMatchObject({ phase: "sim passed", final: true, etaMs: 0 });
    expect(lines[2]!.rate).toBeGreaterThan(0);
  });

  it("starts the rate again for a new unit (import: bytes validated, then rows written)", async () => {
    const { lines, stream } = capture();
    const p = createProgress({ json: true, tty: false }, stream, 0);
    p.update({ phase: "validate f", done: 0, total: 10, unit: "bytes" });
    await wait(300);
    p.finish({ phase: "validate f", done: 10, total: 10, unit: "bytes" });
    p.update({ phase: "import", done: 0, total: 5, unit: "rows" });
    expect(lines[1]!.rate).toBeGreaterThan(0);
    expect(lines[2]).toEqual({ progress: true, phase: "import", done: 0, total: 5, unit: "rows", final: false });
  });

  it("draws nothing when not on a terminal and not asked for JSON (piped: only the result)", () => {
    const { lines, stream } = capture();
    const p = createProgress({ json: false, tty: false }, stream, 0);
    p.update({ phase: "x", done: 1, total: 2, unit: "rows" });
    p.finish({ phase: "x", done: 2, total: 2, unit: "rows" });
    expect(lines).toEqual([]);
  });
});

describe("rate text", () => {
  it("reads bytes in MB/s or kB/s, slow work per minute", async () => {
    const { formatRate, rateAndEta } = await import("../../src/tui/progress-text.ts");
    expect(formatRate(3 * 1024 * 1024, "bytes")).toBe("3.0 MB/s");
    expect(formatRate(2048, "bytes")).toBe("2 kB/s");
    expect(formatRate(12_345.6, "rows")).toBe("12,346 rows/s");
    expect(formatRate(0.05, "figures")).toBe("3.0 figures/min");
    expect(rateAndEta({ rate: 10, etaMs: 90_000 }, "rows")).toBe(" · 10 rows/s · ETA 1 min 30 s");
    expect(rateAndEta({ rate: null, etaMs: null }, "rows")).toBe("");
  });
});
