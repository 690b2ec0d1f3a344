/**
 * The token bucket per client (src/core/rate-limit.ts) on a fake clock, and the control API's
 * use of it: over the rate a request is answered 429 with Retry-After and costs nothing; more
 * events than the batch limit, or than a client's burst, is a 413; payloads over the size limit
 * are a 400 naming the path.
 */
import { describe, expect, it } from "vitest";
import { costsByClient, RateLimiter } from "../../src/core/rate-limit.ts";
import { controlRoutes } from "../../src/daemon/routes.ts";
import type { DaemonControl } from "../../src/daemon/control-api.ts";
import { HttpError } from "../../src/daemon/control-server.ts";
import { DEFAULTS } from "../../src/config/config.ts";
import { payloadSizeProblem } from "../../src/core/value-limits.ts";
import { completeEvent } from "../../src/core/complete-event.ts";

const clockAt = (t: { now: number }) => ({ now: () => t.now });

describe("RateLimiter", () => {
  it("lets a burst through, then refills at the rate", () => {
    const t = { now: 0 };
    const l = new RateLimiter({ ratePerSecond: 10, burst: 20, clock: clockAt(t) });
    expect(l.take(new Map([["a", 20]]))).toEqual({ ok: true });
    expect(l.take(new Map([["a", 1]]))).toEqual({ ok: false, key: "a", retryAfterMs: 100, reason: "rate" });
    t.now = 500;
    expect(l.level("a")).toBe(5);
    expect(l.take(new Map([["a", 5]]))).toEqual({ ok: true });
    expect(l.take(new Map([["b", 20]]))).toEqual({ ok: true });
    t.now = 1_000_000;
    expect(l.level("a")).toBe(20);
  });

  it("charges a request all or nothing across its clients", () => {
    const t = { now: 0 };
    const l = new RateLimiter({ ratePerSecond: 1, burst: 5, clock: clockAt(t) });
    expect(l.take(new Map([["a", 5]]))).toEqual({ ok: true });
    const r = l.take(new Map([["b", 3], ["a", 2]]));
    expect(r).toEqual({ ok: false, key: "a", retryAfterMs: 2000, reason: "rate" });
    expect(l.level("b")).toBe(5);
    expect(l.take(new Map([["c", 6]]))).toMatchObject({ ok: false, reason: "burst" });
  });

  it("forgets the oldest keys beyond maxKeys, which start full again", () => {
    const t = { now: 0 };
    const l = new RateLimiter({ ratePerSecond: 1, burst: 2, clock: clockAt(t), maxKeys: 2 });
    l.take(new Map([["a", 2]]));
    l.take(new Map([["b", 2]]));
    l.take(new Map([["c", 2]]));
    expect(l.level("a")).toBe(2);
    expect(l.level("c")).toBe(0);
  });

  it("counts events per client id", () => {
    expect(costsByClient([{ clientId: "x" }, {}, { clientId: "x" }])).toEqual(new Map([["x", 2], ["(no clientId)", 1]]));
  });
});

describe("control API limits", () => {
  const t = { now: 0 };
  const enqueued: string[] = [];
  const d = {
    enqueue: async (events: { id: string }[]) => (enqueued.push(...events.map((e) => e.id)), { ids: events.map((e) => e.id), existing: [] }),
    applyBatch: async (events: { id: string }[]) => events.map((e) => ({ id: e.id, outcome: "applied" as const, version: 1 })),
  } as unknown as DaemonControl;
  const limits = { ...DEFAULTS.limits, eventsPerSecond: 2, burst: 4, maxBatchEvents: 5, maxPayloadBytes: 2048 };
  const routes = controlRoutes(d, { limits, clock: clockAt(t) });
  const call = (p: string, body: unknown) =>
    routes.find((r) => r.method === "POST" && r.path === p)!.handle({ method: "POST", path: p, query: new URLSearchParams(), body }).then(
      (r) => ({ status: r.status, headers: {}, message: "" }),
      (e: HttpError) => ({ status: e.status, headers: e.headers, message: e.message }),
    );
  const ev = (client: string, i: number, payload: object = {}) => ({ id: `${client}-${i}`, type: "add", entity: "well", entityId: `w${i}`, payload, clientId: client, timestamp: 1 });

  it("429 with Retry-After once a client is over its rate, shared by /v1/events and /v1/batches", async () => {
    expect((await call("/v1/events", { events: [ev("a", 1), ev("a", 2), ev("a", 3)] })).status).toBe(200);
    const over = await call("/v1/batches", { events: [ev("a", 4), ev("a", 5)] });
    expect(over).toEqual({ status: 429, headers: { "retry-after": "1" }, message: expect.stringMatching(/^client "a" is over its limit of 2 events per second \(burst 4\); retry after 1 s$/) });
    // another client is not held back, and the refused request cost "a" nothing
    expect((await call("/v1/batches", { events: [ev("b", 1)] })).status).toBe(200);
    t.now += 500;
    expect((await call("/v1/events", { events: [ev("a", 6), ev("a", 7)] })).status).toBe(200);
    expect(enqueued).toEqual(["a-1", "a-2", "a-3", "a-6", "a-7"]);
  });

  it("413 for more events than the batch limit or a client's burst", async () => {
    const six = Array.from({ length: 6 }, (_, i) => ev("c", i));
    expect(await call("/v1/events", { events: six })).toMatchObject({ status: 413, message: "body.events: 6 events, more than the limit of 5 in one request; send smaller batches" });
    const five = Array.from({ length: 5 }, (_, i) => ev("d", i));
    expect(await call("/v1/batches", { events: five })).toMatchObject({ status: 413, message: expect.stringContaining('client "d" than its burst of 4') });
  });

  it("400 naming the event for a payload over the size limit", async () => {
    const big = { text: "x".repeat(3000) };
    expect(await call("/v1/events", { events: [ev("e", 1, big)] })).toMatchObject({ status: 400, message: expect.stringMatching(/^body\.events\.0\.payload: 30\d\d bytes of JSON, more than the limit of 2048 bytes/) });
    expect(await call("/v1/batches", { events: [ev("e", 2, big)] })).toMatchObject({ status: 400, message: expect.stringMatching(/^body\.events\.0\.payload: 30\d\d bytes/) });
  });
});

describe("payload size", () => {
  it("counts UTF-8 bytes of the JSON text, at the default of 1 MiB", () => {
    expect(payloadSizeProblem({ s: "x".repeat(1_048_000) })).toBeNull();
    expect(payloadSizeProblem({ s: "x".repeat(1_048_576) })).toMatch(/^1048584 bytes of JSON, more than the limit of 1048576/);
    // 400k three-byte characters: 1.2 MB though the text is 400k long
    expect(payloadSizeProblem({ s: "€".repeat(400_000) })).toMatch(/^1200008 bytes/);
    expect(() => completeEvent({ type: "add", entity: "well", entityId: "w", payload: { s: "€".repeat(400_000) } }, "stdin line 3", 1)).toThrow(
      /^stdin line 3\.payload: 1200008 bytes of JSON, more than the limit of 1048576 bytes/,
    );
  });
});
