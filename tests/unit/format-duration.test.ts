import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatDuration } from "../../src/core/format-duration.ts";

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;
const Y = 365.25 * D;

const UNIT_MS: Record<string, number> = { ms: 1, s: S, min: MIN, h: H, d: D, y: Y };
/** the largest count a unit may show before the next unit takes over */
const UNIT_MAX: Record<string, number> = { ms: 999, s: 59, min: 59, h: 23, d: 365 };

/** "3 h 12 min" -> [[3, "h"], [12, "min"]] */
function parts(text: string): [number, string][] {
  const out: [number, string][] = [];
  const re = /(\d+(?:\.\d)?) (ms|s|min|h|d|y)(?: |$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) out.push([Number(m[1]), m[2]!]);
  expect(out.map(([n, u]) => `${n} ${u}`).join(" "), `"${text}" has the shape "<n> <unit>[ <n> <unit>]"`).toBe(text);
  return out;
}

describe("formatDuration", () => {
  it.each([
    [0, "0 ms"],
    [120, "120 ms"],
    [999.4, "999 ms"],
    [999.6, "1 s"],
    [1500, "1.5 s"],
    [4_200, "4.2 s"],
    [9_960, "10 s"],
    [45_000, "45 s"],
    [59_400, "59 s"],
    [59_600, "1 min"],
    [3 * MIN + 20 * S, "3 min 20 s"],
    [5 * MIN, "5 min"],
    [H - 600, "59 min 59 s"],
    [H - 400, "1 h"],
    [3 * H + 12 * MIN, "3 h 12 min"],
    [3 * H + 11 * MIN + 59_600, "3 h 12 min"],
    [D - 10 * S, "1 d"],
    [2 * D + 5 * H, "2 d 5 h"],
    [45 * D, "45 d"],
    [590_588 * MIN, "1.1 y"],
    [949 * D, "2.6 y"],
    [-1500, "-1.5 s"],
    [Number.NaN, "-"],
    [Number.POSITIVE_INFINITY, "-"],
  ])("%d ms -> %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("shows at most two units, each within its range, within half the smallest unit shown", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 200 * Y, noNaN: true }), (ms) => {
        const text = formatDuration(ms);
        const shown = parts(text);
        expect(shown.length).toBeGreaterThanOrEqual(1);
        expect(shown.length).toBeLessThanOrEqual(2);
        for (const [n, unit] of shown) if (unit in UNIT_MAX) expect(n, text).toBeLessThanOrEqual(UNIT_MAX[unit]!);
        const value = shown.reduce((sum, [n, unit]) => sum + n * UNIT_MS[unit]!, 0);
        const [last, lastUnit] = shown[shown.length - 1]!;
        // one decimal (1.5 s, 1.1 y) is precise to a tenth of its unit
        const step = Number.isInteger(last) && !(lastUnit === "s" && value < 10 * S) && lastUnit !== "y" ? UNIT_MS[lastUnit]! : UNIT_MS[lastUnit]! / 10;
        expect(Math.abs(value - ms), `${ms} ms -> ${text}`).toBeLessThanOrEqual(step / 2 + 1e-6 * ms);
      }),
    );
  });

  it("never gets smaller as the duration grows", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 100 * Y, noNaN: true }), fc.double({ min: 0, max: 100 * Y, noNaN: true }), (a, b) => {
        const value = (ms: number) => parts(formatDuration(ms)).reduce((sum, [n, unit]) => sum + n * UNIT_MS[unit]!, 0);
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(value(lo)).toBeLessThanOrEqual(value(hi));
      }),
    );
  });
});

describe("text output uses human durations", () => {
  it("queue drain's summary: latency of a year-old export and the run's duration", async () => {
    const { renderDrain } = await import("../../src/commands/queue/drain.ts");
    const { emptySummary } = await import("../../src/core/drain-summary.ts");
    const result = {
      ...emptySummary(),
      settled: 18,
      applied: 18,
      durationMs: 2_540,
      eventsPerSec: 7,
      latencyMs: { p50: 590_588 * MIN, p99: 3 * H + 12 * MIN },
      sink: "pglite",
      drained: true,
      left: { pending: 0, processing: 0, completed: 18, failed: 0, dead: 0 },
    };
    const text = renderDrain(result);
    expect(text).toMatch(/latency +enqueue→applied p50 1\.1 y, p99 3 h 12 min$/m);
    expect(text).toMatch(/throughput +7 events\/s over 2\.5 s$/m);
  });
});
