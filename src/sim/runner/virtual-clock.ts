/**
 * Virtual time for a simulation: `now()` is what the scheduler set it to, so hours offline and
 * backoff schedules pass in the time it takes to run the operations. A `sleep` resolves when the
 * scheduler advances past its end; a client's skewed clock reads the same time plus its offset.
 */
import type { Clock } from "../../core/ports.ts";

/** 2026-01-01T00:00:00Z: virtual time 0, so timestamps in a history are the same in every run. */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);

interface Sleeper {
  until: number;
  resolve(): void;
}

export class VirtualClock implements Clock {
  private t: number;
  private sleepers: Sleeper[] = [];

  constructor(readonly epoch: number = SIM_EPOCH_MS) {
    this.t = epoch;
  }

  now(): number {
    return this.t;
  }

  /** Virtual ms since the epoch. */
  elapsed(): number {
    return this.t - this.epoch;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const s: Sleeper = { until: this.t + ms, resolve };
      this.sleepers.push(s);
      signal?.addEventListener("abort", () => {
        this.sleepers = this.sleepers.filter((x) => x !== s);
        resolve();
      }, { once: true });
    });
  }

  /** Moves time forward (never back) and wakes the sleepers whose time has come. */
  advanceTo(at: number): void {
    if (at > this.t) this.t = at;
    if (this.sleepers.length === 0) return;
    const due = this.sleepers.filter((s) => s.until <= this.t);
    this.sleepers = this.sleepers.filter((s) => s.until > this.t);
    for (const s of due) s.resolve();
  }
}

/** A client's clock that runs `skewMs` off the shared virtual clock. */
export function skewedClock(base: Clock, skewMs: number): Clock {
  if (skewMs === 0) return base;
  return { now: () => base.now() + skewMs, sleep: (ms, signal) => base.sleep(ms, signal) };
}
