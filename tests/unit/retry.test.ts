import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  classifyFailure,
  DEFAULT_RETRY_POLICY,
  failureChanges,
  nextAttemptAt,
} from "../../src/core/retry.ts";
import { PermanentSinkError, RetryableSinkError } from "../../src/errors.ts";
import { FakeClock } from "../helpers/fakes.ts";

const noJitter = { baseMs: 1000, maxMs: 30_000, jitter: 0 };

describe("backoffDelay", () => {
  it("doubles from 1 s and caps at 30 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50, 5000].map((a) => backoffDelay(a, noJitter))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000,
    ]);
  });

  it("jitters downwards within [d × (1 − jitter), d]", () => {
    const policy = { ...noJitter, jitter: 0.5 };
    expect(backoffDelay(3, { ...policy, random: () => 0 })).toBe(4000);
    expect(backoffDelay(3, { ...policy, random: () => 0.5 })).toBe(3000);
    expect(backoffDelay(3, { ...policy, random: () => 0.999999 })).toBe(2000);
    expect(backoffDelay(10, { ...policy, random: () => 0 })).toBe(30_000);
  });

  it("uses the documented defaults (1 s base, 30 s cap, 10 attempts)", () => {
    expect(DEFAULT_RETRY_POLICY).toMatchObject({ baseMs: 1000, maxMs: 30_000, maxAttempts: 10 });
    const d = backoffDelay(1, { ...DEFAULT_RETRY_POLICY, random: () => 0.5 });
    expect(d).toBeGreaterThanOrEqual(800);
    expect(d).toBeLessThanOrEqual(1000);
  });

  it("refuses nonsense input with a clear message", () => {
    expect(() => backoffDelay(0, noJitter)).toThrow("backoffDelay: attempt must be an integer >= 1, got 0");
    expect(() => backoffDelay(1, { ...noJitter, jitter: 2 })).toThrow(/jitter must be between 0 and 1, got 2/);
  });
});

describe("retry timing on an injected clock", () => {
  it("nextAttemptAt is now + the delay, and an event becomes due exactly then", async () => {
    const clock = new FakeClock();
    const at = nextAttemptAt(clock.now(), 2, { jitter: 0 });
    expect(at - clock.now()).toBe(2000);
    await clock.advance(1999);
    expect(clock.now() >= at).toBe(false);
    await clock.advance(1);
    expect(clock.now() >= at).toBe(true);
  });
});

describe("classifyFailure", () => {
  it("retries retryable and unknown errors until maxAttempts, then dead", () => {
    const err = new RetryableSinkError("connection reset", "ECONNRESET");
    expect(classifyFailure(err, 1)).toBe("retry");
    expect(classifyFailure(err, 9)).toBe("retry");
    expect(classifyFailure(err, 10)).toBe("dead");
    expect(classifyFailure(new Error("socket hang up"), 3, { maxAttempts: 3 })).toBe("dead");
    expect(classifyFailure(new Error("socket hang up"), 2, { maxAttempts: 3 })).toBe("retry");
  });

  it("sends permanent errors to dead at once", () => {
    expect(classifyFailure(new PermanentSinkError("violates check", "23514"), 1)).toBe("dead");
  });
});

describe("failureChanges", () => {
  const now = 1_000_000;

  it("persists failed + nextAttemptAt, counting attempts from the browser's retryCount", () => {
    const c = failureChanges({ retryCount: 2 }, new RetryableSinkError("serialization failure", "40001"), now, {
      jitter: 0,
    });
    expect(c).toMatchObject({
      status: "failed",
      attempts: 3,
      retryCount: 3,
      nextAttemptAt: now + 4000,
      lastError: "40001: serialization failure",
    });
    expect(c.deadAt).toBeUndefined();
  });

  it("moves to dead with the last error after maxAttempts or a permanent error", () => {
    expect(failureChanges({ attempts: 4, retryCount: 0 }, new Error("boom"), now, { maxAttempts: 5 })).toMatchObject({
      status: "dead",
      attempts: 5,
      deadAt: now,
      lastError: "boom",
    });
    const p = failureChanges({ retryCount: 0 }, new PermanentSinkError("permission denied", "42501"), now);
    expect(p).toMatchObject({ status: "dead", attempts: 1, lastError: "42501: permission denied" });
    expect(p.nextAttemptAt).toBeUndefined();
  });
});
