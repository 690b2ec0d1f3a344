/**
 * Checks of what events hold: entities the server does not know (an app newer or older than the
 * server), events the server would reject (bad shape, values PostgreSQL cannot store, an entry
 * without its id), ids given twice in an export, and payloads over (or near) the server's limit.
 */
import { BUILTIN_ENTITIES, type QueuedEvent } from "../../core/event.ts";
import { describeValueProblem, MAX_PAYLOAD_BYTES, payloadBytesOver, valueProblem } from "../../core/value-limits.ts";
import { ownString } from "../../io/own-string.ts";
import { IdSample } from "../id-sample.ts";
import { plural, type InvalidEventRow, type RuleContext, defineRule, kindOf, listed } from "../rule.ts";

/** An export row the reader refused for its payload's size (value-limits.ts payloadSizeProblem). */
const OVER_LIMIT = /(\d+) bytes of JSON, more than the limit/;
/** Payloads above this share of the limit are reported as large (info). */
const LARGE_SHARE = 0.25;
/** Unknown entities reported one by one at most. */
const MAX_UNKNOWN_ENTITIES = 20;

/** Entities whose events address an entry of the row by `payload.id` (kind `entries`). */
const ENTRY_ENTITIES = new Set(["chart_data_source"]);

function knownEntities(ctx: RuleContext): ReadonlySet<string> {
  return ctx.server?.entities ?? new Set<string>(BUILTIN_ENTITIES);
}

export const unknownEntity = defineRule(
  "unknown-entity",
  "warning",
  "events of an entity the server does not know (the app is newer or older than the server): they will be rejected",
  (ctx) => {
    const known = knownEntities(ctx);
    const byEntity = new Map<string, IdSample>();
    let others = 0;
    return {
      observe(e: QueuedEvent) {
        if (known.has(e.entity)) return;
        let s = byEntity.get(e.entity);
        if (!s) {
          if (byEntity.size >= MAX_UNKNOWN_ENTITIES) return void others++;
          byEntity.set(ownString(e.entity), (s = new IdSample(ctx.sampleSize)));
        }
        s.add(e.id);
      },
      findings() {
        const where = ctx.server
          ? `the registry of ${ctx.server.label}`
          : `the built-in entities (${[...known].join(", ")}; give --db to read the server's registry)`;
        return [...byEntity.entries()].map(([entity, s]) => ({
          ...kindOf(unknownEntity),
          title: `${plural(s.count, "event")} of unknown entity "${entity}"`,
          evidence: `"${entity}" is not in ${where}; the server rejects such events` + (others ? ` (${others} more events of other unknown entities)` : ""),
          ...listed(s),
          fix: ctx.fix.registerEntity(entity),
        }));
      },
    };
  },
);

/**
 * Why the server would reject an event that has the queue's shape, or null. `valuesChecked`: the
 * payload's values already passed value-limits.ts (an export's reader checks every row).
 */
export function payloadProblem(e: QueuedEvent, valuesChecked = false): string | null {
  if (ENTRY_ENTITIES.has(e.entity) && typeof e.payload.id !== "string") return "payload.id: expected a string (the entry id)";
  if (valuesChecked) return null;
  const p = valueProblem(e.payload);
  return p ? describeValueProblem(p, "payload") : null;
}

export const invalidEvent = defineRule(
  "invalid-event",
  "error",
  "events that fail validation (not the event shape, values PostgreSQL cannot store, an entry without its id): the server rejects them",
  (ctx) => {
    const ids = new IdSample(ctx.sampleSize);
    let first: string | undefined;
    let withoutId = 0;
    const note = (id: string | undefined, reason: string) => {
      first ??= ownString(reason);
      if (id === undefined) withoutId++;
      else ids.add(id);
    };
    return {
      observe(e: QueuedEvent) {
        const problem = payloadProblem(e, ctx.valuesChecked);
        if (problem) note(e.id, `event ${e.id}: ${problem}`);
      },
      invalid(row: InvalidEventRow) {
        if (row.reason.startsWith("duplicate id") || OVER_LIMIT.test(row.reason)) return;
        note(row.id, `${row.where}: ${row.reason}`);
      },
      findings() {
        const n = ids.count + withoutId;
        if (n === 0) return [];
        return [{
          ...kindOf(invalidEvent),
          title: `${plural(n, "event")} that fail validation`,
          evidence: `first: ${first}` + (withoutId ? `; ${withoutId} of them have no id` : ""),
          eventIds: ids.ids,
          moreEvents: ids.more + withoutId,
          fix: ctx.fix.skipInvalid() ?? ctx.fix.replay({ ids: ids.more === 0 ? ids.ids : undefined, statuses: ["pending", "failed"] }),
        }];
      },
    };
  },
);

export const duplicateId = defineRule(
  "duplicate-id",
  "error",
  "one event id given to more than one row of an export (a store or a shared queue cannot hold a repeat)",
  (ctx) => {
    const ids = new IdSample(ctx.sampleSize);
    let first: string | undefined;
    return {
      invalid(row: InvalidEventRow) {
        if (!row.reason.startsWith("duplicate id")) return;
        first ??= ownString(`${row.where}: ${row.reason}`);
        ids.add(row.id ?? "?");
      },
      findings() {
        if (ids.count === 0) return [];
        return [{
          ...kindOf(duplicateId),
          title: `${plural(ids.count, "repeated event id")}`,
          evidence: `first: ${first}; \`queue import\` refuses the file as it is`,
          ...listed(ids),
          fix: ctx.fix.skipInvalid() ?? ctx.fix.drain(),
        }];
      },
    };
  },
);

export const oversizedPayload = defineRule(
  "oversized-payload",
  "error",
  "payloads over the server's max_payload_bytes (1 MiB unless the server says otherwise): rejected",
  (ctx) => payloadSizeRule(ctx, "oversized"),
);

export const largePayload = defineRule(
  "large-payload",
  "info",
  `payloads over ${LARGE_SHARE * 100}% of the server's limit: applied, but they make slow batches`,
  (ctx) => payloadSizeRule(ctx, "large"),
);

/** The last event measured, so that the two size checks measure each payload once. */
let measured: { event: QueuedEvent; bytes: number } | undefined;

/** The payload's JSON size in UTF-8 bytes when over `floor` (the lower of the two checks'), else 0. */
function payloadBytes(e: QueuedEvent, floor: number): number {
  if (measured?.event !== e) measured = { event: e, bytes: payloadBytesOver(e.payload, floor) };
  return measured.bytes;
}

function payloadSizeRule(ctx: RuleContext, which: "oversized" | "large") {
  const limit = ctx.server?.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
  const largeFloor = Math.floor(limit * LARGE_SHARE);
  const floor = which === "oversized" ? limit : largeFloor;
  const ids = new IdSample(ctx.sampleSize);
  let max = 0;
  return {
    observe(e: QueuedEvent) {
      const bytes = payloadBytes(e, largeFloor);
      if (bytes <= floor || (which === "large" && bytes > limit)) return;
      ids.add(e.id);
      max = Math.max(max, bytes);
    },
    /** an export's row over the limit is refused by the reader, which says how large it is */
    invalid(row: InvalidEventRow) {
      const m = which === "oversized" ? OVER_LIMIT.exec(row.reason) : null;
      if (!m) return;
      ids.add(row.id ?? row.where);
      max = Math.max(max, Number(m[1]));
    },
    findings() {
      if (ids.count === 0) return [];
      const spec = which === "oversized" ? oversizedPayload : largePayload;
      const of = ctx.server ? `${ctx.server.label}'s max_payload_bytes` : "the default max_payload_bytes";
      return [{
        ...kindOf(spec),
        title: `${plural(ids.count, "payload")} ${which === "oversized" ? "over the server's limit" : "near the server's limit"}`,
        evidence:
          `largest ${max} bytes of JSON; ${of} is ${limit}` +
          (which === "oversized" ? ": the server rejects these events" : `: more than ${floor} bytes each`),
        ...listed(ids),
        fix: which === "oversized" ? ctx.fix.raisePayloadLimit(Math.ceil(max / 1_048_576) * 1_048_576) : ctx.fix.show(ids.ids[0]!),
      }];
    },
  };
}
