/**
 * Token buckets per key (a client id): each key may spend `ratePerSecond` events a second on
 * average and up to `burst` at once. Pure: time comes from the Clock port, nothing is scheduled.
 * A request is charged all or nothing, so a refused request costs its senders nothing and is
 * told how long to wait (the HTTP routes send that as Retry-After).
 */
import type { Clock } from "./ports.ts";

export interface RateLimitOptions {
  ratePerSecond: number;
  burst: number;
  clock: Pick<Clock, "now">;
  /** most keys tracked; beyond it the oldest are forgotten (default 10,000) */
  maxKeys?: number;
}

export type RateDecision = { ok: true } | { ok: false; key: string; retryAfterMs: number; reason: "rate" | "burst" };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;

  constructor(private readonly o: RateLimitOptions) {
    if (!(o.ratePerSecond > 0) || !(o.burst >= 1)) throw new RangeError("rate limit: ratePerSecond must be > 0 and burst >= 1");
    this.maxKeys = o.maxKeys ?? 10_000;
  }

  /** Charges `cost` to each key, or nothing when any key lacks tokens. */
  take(costs: ReadonlyMap<string, number>): RateDecision {
    const now = this.o.clock.now();
    let refused: RateDecision | undefined;
    for (const [key, cost] of costs) {
      if (cost > this.o.burst) return { ok: false, key, retryAfterMs: 0, reason: "burst" };
      const tokens = this.level(key, now);
      if (tokens < cost) {
        const wait = Math.ceil(((cost - tokens) / this.o.ratePerSecond) * 1000);
        if (!refused || (!refused.ok && wait > refused.retryAfterMs)) refused = { ok: false, key, retryAfterMs: wait, reason: "rate" };
      }
    }
    if (refused) return refused;
    for (const [key, cost] of costs) this.set(key, this.level(key, now) - cost, now);
    return { ok: true };
  }

  /** Tokens the key has now. */
  level(key: string, now = this.o.clock.now()): number {
    const b = this.buckets.get(key);
    if (!b) return this.o.burst;
    const elapsed = Math.max(0, now - b.at);
    return Math.min(this.o.burst, b.tokens + (elapsed / 1000) * this.o.ratePerSecond);
  }

  private set(key: string, tokens: number, now: number): void {
    this.buckets.delete(key);
    this.buckets.set(key, { tokens, at: now });
    // the oldest first: a forgotten key starts full again, which a key idle that long had refilled to anyway
    while (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
  }
}

/** Events per client id in one request (events without one share the key "(no clientId)"). */
export function costsByClient(events: readonly { clientId?: string | undefined }[]): Map<string, number> {
  const costs = new Map<string, number>();
  for (const e of events) {
    const key = e.clientId ?? "(no clientId)";
    costs.set(key, (costs.get(key) ?? 0) + 1);
  }
  return costs;
}
