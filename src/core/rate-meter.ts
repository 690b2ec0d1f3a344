/**
 * Rate and time left of a long piece of work, for progress bars and NDJSON progress: the rate over
 * the last few seconds (so that it follows a run that speeds up or slows down), the average since
 * the start until that window holds enough time, and the ETA of what is left at that rate.
 */

export interface RateEstimate {
  /** units per second; null until some time has passed */
  rate: number | null;
  /** milliseconds left at that rate; null without a total or a rate */
  etaMs: number | null;
}

/** the window the rate is measured over */
const WINDOW_MS = 5000;
/** shortest stretch of time a rate is given for */
const MIN_SPAN_MS = 250;

export class RateMeter {
  private readonly samples: { at: number; done: number }[] = [];
  private first: { at: number; done: number } | undefined;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /**
   * Records that `done` units are done now; returns the estimate. `final`: the work is over, so a
   * run shorter than the shortest span still gets its average rate.
   */
  sample(done: number, total?: number, final = false): RateEstimate {
    const at = this.now();
    const point = { at, done };
    this.first ??= point;
    this.samples.push(point);
    while (this.samples.length > 2 && at - this.samples[1]!.at >= WINDOW_MS) this.samples.shift();
    const from = this.samples[0]!;
    const windowed = at - from.at >= MIN_SPAN_MS ? from : this.first;
    const span = at - windowed.at;
    const whole = at - this.first.at;
    const rate =
      span >= MIN_SPAN_MS
        ? Math.max(0, ((done - windowed.done) * 1000) / span)
        : final && whole > 0
          ? Math.max(0, ((done - this.first.done) * 1000) / whole)
          : null;
    const left = total !== undefined ? Math.max(0, total - done) : undefined;
    const etaMs = left === undefined || rate === null ? null : left === 0 ? 0 : rate > 0 ? (left / rate) * 1000 : null;
    return { rate, etaMs };
  }
}

/** The rate (units/s) and ETA (ms) as fields of an NDJSON progress line, rounded, when known. */
export function rateFields(e: RateEstimate): { rate?: number; etaMs?: number } {
  return { ...(e.rate !== null ? { rate: Math.round(e.rate) } : {}), ...(e.etaMs !== null ? { etaMs: Math.round(e.etaMs) } : {}) };
}
