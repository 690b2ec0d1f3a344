/**
 * The control API's routes: each validates its request (request-schemas.ts) and calls the daemon
 * through the DaemonControl interface. Only /healthz and /v1/batches may be called by a page of the
 * configured --cors-origin (see control-server.ts for the browser rules). Events sent through
 * /v1/events and /v1/batches share one rate limit per client id (429 with Retry-After), and each
 * request is held to the configured batch and payload size limits (docs/security.md#limits).
 */
import type { QueuedEvent } from "../core/event.ts";
import { toWireEvent } from "../core/coalesce.ts";
import { describeValueProblem, MAX_PAYLOAD_BYTES, payloadSizeProblem, valueProblem } from "../core/value-limits.ts";
import { costsByClient, RateLimiter } from "../core/rate-limit.ts";
import { type Clock, systemClock } from "../core/ports.ts";
import type { Config } from "../config/config.ts";
import { importablePath, type ImportRoots, withheldImportError } from "./import-roots.ts";
import { InvalidEventError, MudsyncError, SinkError, StoreTooLargeError, StoreWriteError, UsageError } from "../errors.ts";
import { completeEvent } from "../core/complete-event.ts";
import type { DaemonControl } from "./control-api.ts";
import { HttpError, type Route } from "./control-server.ts";
import {
  BATCH_HINT,
  browserBatchSchema,
  emptyBodySchema,
  enqueueBodySchema,
  eventQuerySchema,
  importBodySchema,
  listQuerySchema,
  noQuerySchema,
  parseOr400,
  retryBodySchema,
} from "./request-schemas.ts";

const ok = (json: unknown, status = 200) => ({ status, json });

/** A POST route that takes no body (or {}) and answers what `act` returns. */
const noBodyPost = (path: string, act: () => Promise<unknown>): Route => ({
  method: "POST",
  path,
  async handle(req) {
    parseOr400(emptyBodySchema, req.body, "body", "expected no body or {}");
    return ok(await act());
  },
});

export interface RouteOptions {
  /** where /v1/import may read files (default: anywhere) */
  importRoots?: ImportRoots;
  /** rate, batch and payload limits (default: the config defaults) */
  limits?: Config["limits"];
  clock?: Pick<Clock, "now">;
}

export function controlRoutes(d: DaemonControl, options: RouteOptions = {}): Route[] {
  const limits = options.limits;
  const maxPayloadBytes = limits?.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
  const limiter = limits
    ? new RateLimiter({ ratePerSecond: limits.eventsPerSecond, burst: limits.burst, clock: options.clock ?? systemClock })
    : undefined;
  /** Refuses a request over the batch limit (413) or over its clients' rates (429, Retry-After). */
  const admit = (events: readonly { clientId?: unknown }[]) => {
    if (limits && events.length > limits.maxBatchEvents) {
      throw new HttpError(413, `body.events: ${events.length} events, more than the limit of ${limits.maxBatchEvents} in one request; send smaller batches`);
    }
    if (!limiter) return;
    const keyed = events.map((e) => ({ clientId: typeof e.clientId === "string" ? e.clientId : undefined }));
    const r = limiter.take(costsByClient(keyed));
    if (r.ok) return;
    if (r.reason === "burst") {
      throw new HttpError(413, `body.events: more events for client ${JSON.stringify(r.key)} than its burst of ${limits!.burst}; send smaller batches`);
    }
    const seconds = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
    throw new HttpError(
      429,
      `client ${JSON.stringify(r.key)} is over its limit of ${limits!.eventsPerSecond} events per second (burst ${limits!.burst}); retry after ${seconds} s`,
      { "retry-after": String(seconds) },
    );
  };
  const importRoots = options.importRoots ?? { kind: "any" };
  return [
    {
      method: "GET",
      path: "/healthz",
      browser: true,
      open: true,
      async handle() {
        const h = await d.health();
        return ok(h, h.ok ? 200 : 503);
      },
    },
    {
      method: "GET",
      path: "/metrics",
      open: true,
      async handle() {
        const m = await d.metricsText();
        return { status: 200, text: m.text, contentType: m.contentType };
      },
    },
    { method: "GET", path: "/v1/status", handle: async () => ok(await d.status()) },
    noBodyPost("/v1/pause", () => d.pause()),
    noBodyPost("/v1/resume", () => d.resume()),
    noBodyPost("/v1/drain-now", () => d.drainNow()),
    {
      method: "POST",
      path: "/v1/retry",
      async handle(req) {
        const sel = parseOr400(retryBodySchema, req.body ?? {}, "body", 'expected {"ids": [...]} and/or {"statuses": [...]}');
        return ok(await d.retry(sel));
      },
    },
    {
      method: "POST",
      path: "/v1/events",
      async handle(req) {
        const body = parseOr400(enqueueBodySchema, req.body, "body", 'expected {"events": [event, …]}');
        const now = Date.now();
        const events: QueuedEvent[] = body.events.map((e, i) => asHttpError(() => completeEvent(e, `body.events.${i}`, now, maxPayloadBytes)));
        admit(events);
        return ok(await asHttpErrorAsync(() => d.enqueue(events)));
      },
    },
    {
      method: "POST",
      path: "/v1/import",
      async handle(req) {
        const body = parseOr400(importBodySchema, req.body, "body", 'expected {"files": ["/absolute/path.json", …], "replace"?: boolean, "skipInvalid"?: boolean}');
        const files: string[] = [];
        for (const f of body.files) files.push(await importablePath(f, importRoots));
        return ok(
          await asHttpErrorAsync(async () => {
            try {
              return await d.importFiles({ ...body, files });
            } catch (err) {
              throw withheldImportError(err);
            }
          }),
        );
      },
    },
    {
      method: "GET",
      path: "/v1/events",
      async handle(req) {
        const q = parseOr400(listQuerySchema, Object.fromEntries(req.query), "query");
        const order = q.order === "oldest" || q.order === "asc" ? "asc" : "desc";
        return ok(
          await asHttpErrorAsync(() =>
            d.list({
              limit: q.limit,
              order,
              ...(q.status ? { statuses: q.status } : {}),
              ...(q.entity !== undefined ? { entity: q.entity } : {}),
              ...(q.since !== undefined ? { since: q.since } : {}),
              ...(q.after !== undefined ? { after: q.after } : {}),
            }),
          ),
        );
      },
    },
    {
      method: "GET",
      path: "/v1/event",
      async handle(req) {
        const q = parseOr400(eventQuerySchema, Object.fromEntries(req.query), "query", "expected ?id=EVENT_ID");
        const found = await d.event(q.id);
        if (!found) throw new HttpError(404, `no event with id ${q.id} in the store`);
        return ok(found);
      },
    },
    {
      method: "GET",
      path: "/v1/activity",
      async handle(req) {
        parseOr400(noQuerySchema, Object.fromEntries(req.query), "query", "expected no query");
        return ok(await d.activity());
      },
    },
    {
      method: "POST",
      path: "/v1/batches",
      browser: true,
      async handle(req) {
        const body = parseOr400(browserBatchSchema, req.body, "body", BATCH_HINT);
        // a value PostgreSQL cannot store (or nested too deep) would fail the whole batch: refuse it here
        body.events.forEach((e, i) => {
          const bad = valueProblem(e);
          if (bad) throw new HttpError(400, describeValueProblem(bad, `body.events.${i}`));
          const big = payloadSizeProblem(e.payload, maxPayloadBytes);
          if (big) throw new HttpError(400, `body.events.${i}.payload: ${big}`);
        });
        admit(body.events);
        const wire = body.events.map((e) => toWireEvent(e as QueuedEvent));
        try {
          return ok({ results: await d.applyBatch(wire) });
        } catch (err) {
          if (err instanceof SinkError) throw new HttpError(err.retryable ? 503 : 422, err.message);
          throw err;
        }
      },
    },
  ];
}

/** Input errors thrown by shared helpers (bad event, bad cursor) become 400s. */
function asHttpError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toHttp(err);
  }
}

async function asHttpErrorAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toHttp(err);
  }
}

function toHttp(err: unknown): unknown {
  if (err instanceof InvalidEventError || err instanceof UsageError) return new HttpError(400, err.message);
  if (err instanceof MudsyncError && err.exitCode === 2) return new HttpError(400, err.message);
  // the CLI reads 5xx as exit 5, as when it hits the limit itself
  if (err instanceof StoreTooLargeError) return new HttpError(507, err.message);
  // a store file that cannot be written (disk full): no room, as above
  if (err instanceof StoreWriteError) return new HttpError(507, err.message);
  return err;
}
