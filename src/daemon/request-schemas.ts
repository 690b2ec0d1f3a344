/**
 * zod schemas of the control API's requests. Every body and query is parsed here; a failure
 * becomes one 400 line naming the JSON path (`body.events.3.entityId`) and what was expected.
 */
import path from "node:path";
import { z } from "zod";
import { EVENT_STATUSES, EVENT_SHAPE_HINT, describeIssues, newEventSchema } from "../core/event.ts";
import { HttpError } from "./control-server.ts";

import { MAX_EVENTS_PER_REQUEST } from "../core/request-limits.ts";

export { MAX_EVENTS_PER_REQUEST };

const statusList = z
  .string()
  .max(200)
  .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(z.enum(EVENT_STATUSES)).min(1));

export const enqueueBodySchema = z.strictObject({
  events: z.array(z.unknown()).min(1).max(MAX_EVENTS_PER_REQUEST),
});

/** The browser app's payload to `process_event_batch`: whole QueuedEvents, its field names. */
export const browserBatchSchema = z.strictObject({
  events: z
    .array(newEventSchema.extend({ id: newEventSchema.shape.id.unwrap(), timestamp: z.number().finite().nonnegative() }))
    .min(1)
    .max(MAX_EVENTS_PER_REQUEST),
});

export const retryBodySchema = z
  .strictObject({
    ids: z.array(z.string().min(1).max(200)).min(1).max(100_000).optional(),
    statuses: z.array(z.enum(EVENT_STATUSES)).min(1).optional(),
    /** who asks, for the audit log */
    actor: z.string().min(1).max(200).optional(),
  })
  .refine((b) => b.ids !== undefined || b.statuses !== undefined, { message: "expected ids and/or statuses" });

/** `queue import` through the daemon: export files by absolute path (the daemon reads them). */
export const importBodySchema = z.strictObject({
  files: z
    .array(z.string().min(1).max(4096).refine((f) => path.isAbsolute(f), { message: "expected an absolute path" }))
    .min(1)
    .max(1000),
  replace: z.boolean().default(false),
  skipInvalid: z.boolean().default(false),
});

export const listQuerySchema = z.strictObject({
  status: statusList.optional(),
  entity: z.string().min(1).max(100).optional(),
  since: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(50),
  after: z.string().min(1).max(2000).optional(),
  order: z.enum(["asc", "desc", "newest", "oldest"]).default("desc"),
});

/** GET /v1/event?id=…: one event by id. */
export const eventQuerySchema = z.strictObject({ id: z.string().min(1).max(200) });

/** GET /v1/activity takes no query. */
export const noQuerySchema = z.strictObject({});

/** An empty body or `{}`: for pause, resume and drain-now. */
export const emptyBodySchema = z.union([z.undefined(), z.strictObject({})]);

/** Parses `value` or throws a 400 naming the path under `prefix` ("body" or "query"). */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, prefix: string, hint?: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new HttpError(400, `${describeIssues(r.error, prefix)}${hint ? `; ${hint}` : ""}`);
}

export const BATCH_HINT = `expected {"events": [event, …]} with each ${EVENT_SHAPE_HINT.replace(/^expected /, "")}`;
