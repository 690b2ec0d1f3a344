/**
 * Checks that need the order of a row's edits: a failed edit at the head of a row holds back every
 * later edit of that row, and the seed's batcher (which groups pending events by `entity:type`)
 * runs all removes of an entity before or after all its adds, so an add and a remove of one row
 * (one chart entry) can swap. State: one small entry per row with unfinished events, never the
 * events themselves.
 */
import { compareRowOrder, type QueuedEvent, type RowOrderFields, rowKey } from "../../core/event.ts";
import { ownString } from "../../io/own-string.ts";
import { IdSample } from "../id-sample.ts";
import { iso, plural, type RuleContext, defineRule, kindOf, listed } from "../rule.ts";

interface RowHead extends RowOrderFields {
  status: string;
  retryCount: number;
  lastError?: string;
  /** unfinished events of the row */
  unfinished: number;
}

const UNFINISHED = new Set(["pending", "processing", "failed"]);

export const poisonHead = defineRule(
  "poison-head",
  "error",
  "a failed event at the head of a row (its first unfinished edit), holding back that row's later events",
  (ctx) => {
    // by entity, then entityId: no key string is built per event
    const rows = new Map<string, Map<string, RowHead>>();
    return {
      observe(e: QueuedEvent) {
        if (!UNFINISHED.has(e.status)) return;
        let ofEntity = rows.get(e.entity);
        if (!ofEntity) rows.set(ownString(e.entity), (ofEntity = new Map()));
        const head = ofEntity.get(e.entityId);
        if (head) {
          head.unfinished++;
          if (compareRowOrder(e, head) >= 0) return;
        }
        // strings kept past this chunk are copied: a slice of a read block would keep the block
        const next: RowHead = {
          id: ownString(e.id),
          timestamp: e.timestamp,
          clientId: e.clientId === undefined ? undefined : ownString(e.clientId),
          seq: e.seq,
          status: e.status,
          retryCount: e.retryCount,
          lastError: e.lastError === undefined ? undefined : ownString(e.lastError),
          unfinished: head ? head.unfinished : 1,
        };
        ofEntity.set(head ? e.entityId : ownString(e.entityId), next);
      },
      findings() {
        const heads = new IdSample(ctx.sampleSize);
        let heldBack = 0;
        let maxRetries = 0;
        let error: string | undefined;
        for (const head of [...rows.values()].flatMap((m) => [...m.values()])) {
          if (head.status !== "failed" || head.unfinished < 2) continue;
          heads.add(head.id);
          heldBack += head.unfinished - 1;
          maxRetries = Math.max(maxRetries, head.retryCount);
          error ??= head.lastError;
        }
        if (heads.count === 0) return [];
        return [{
          ...kindOf(poisonHead),
          title: `${plural(heads.count, "row")} held back by a failed event at its head`,
          evidence:
            `${plural(heldBack, "later event")} of those rows wait behind the failed one (retry counts up to ${maxRetries}` +
            (error ? `; last error: ${error}` : "") +
            "); a row's edits apply in order, so none of them can go until the head succeeds or is dead-lettered",
          ...listed(heads),
          fix: ctx.fix.replay({ ids: heads.more === 0 ? heads.ids : undefined, statuses: ["failed"] }),
        }];
      },
    };
  },
);

/** Entities whose add and remove address one element inside the row, named by `payload.id`. */
const ENTRY_ENTITIES = new Set(["chart_data_source"]);

interface Span {
  first: { ts: number; id: string };
  last: { ts: number; id: string };
}

interface KeyState {
  entity: string;
  add?: Span;
  remove?: Span;
}

/** The span with this edit in it; an id is copied only when it is kept. */
function widen(span: Span | undefined, ts: number, id: string): Span {
  if (!span) {
    const at = { ts, id: ownString(id) };
    return { first: at, last: at };
  }
  if (ts < span.first.ts || (ts === span.first.ts && id < span.first.id)) span.first = { ts, id: ownString(id) };
  if (ts > span.last.ts || (ts === span.last.ts && id > span.last.id)) span.last = { ts, id: ownString(id) };
  return span;
}

function before(a: { ts: number; id: string }, b: { ts: number; id: string }): boolean {
  return a.ts < b.ts || (a.ts === b.ts && a.id < b.id);
}

export const addRemoveReorder = defineRule(
  "add-remove-reorder",
  "warning",
  "a pending add and a pending remove of one row (one chart entry) that a batcher grouping by entity:type (the seed's sketch) would run in the wrong order",
  (ctx) => {
    const keys = new Map<string, KeyState>();
    /** per entity: the first pending add and the first pending remove, in the sketch's timestamp order */
    const firstOf = new Map<string, { add?: Span; remove?: Span }>();
    return {
      observe(e: QueuedEvent) {
        if (e.status !== "pending" || (e.type !== "add" && e.type !== "remove")) return;
        const entryId = ENTRY_ENTITIES.has(e.entity) ? e.payload.id : undefined;
        const key = typeof entryId === "string" ? `${rowKey(e)}\u0000${entryId}` : rowKey(e);
        let st = keys.get(key);
        if (!st) keys.set(ownString(key), (st = { entity: ownString(e.entity) }));
        st[e.type] = widen(st[e.type], e.timestamp, e.id);
        let ent = firstOf.get(e.entity);
        if (!ent) firstOf.set(ownString(e.entity), (ent = {}));
        ent[e.type] = widen(ent[e.type], e.timestamp, e.id);
      },
      findings() {
        const pairs = new IdSample(ctx.sampleSize);
        let rows = 0;
        const entities = new Set<string>();
        for (const st of keys.values()) {
          if (!st.add || !st.remove) continue;
          const ent = firstOf.get(st.entity)!;
          const removesFirst = before(ent.remove!.first, ent.add!.first);
          // removes run first: an add followed by a remove swaps (the entry comes back);
          // adds run first: a remove followed by a re-add swaps (the entry disappears)
          const swapped = removesFirst ? before(st.add.first, st.remove.last) : before(st.remove.first, st.add.last);
          if (!swapped) continue;
          rows++;
          entities.add(st.entity);
          const [a, b] = removesFirst ? [st.add.first, st.remove.last] : [st.remove.first, st.add.last];
          pairs.add(a.id);
          pairs.add(b.id);
        }
        if (rows === 0) return [];
        const example = [...entities][0]!;
        const ent = firstOf.get(example)!;
        const removesFirst = before(ent.remove!.first, ent.add!.first);
        return [{
          ...kindOf(addRemoveReorder),
          title: `${plural(rows, "row")} whose add and remove a batcher grouping by entity:type would swap`,
          evidence:
            `${[...entities].join(", ")}: the seed's sketch sends each entity's pending events as one group per type, ` +
            `groups in order of first appearance; ${example}:${removesFirst ? "remove" : "add"} comes first ` +
            `(${iso((removesFirst ? ent.remove! : ent.add!).first.ts)}), so ` +
            (removesFirst
              ? "an add followed by a remove of the same row runs remove-then-add and the item comes back"
              : "a remove followed by a re-add runs add-then-remove and the item disappears") +
            ` (ids listed in pairs, earlier edit first); mudsync keeps each row's order`,
          ...listed(pairs),
          fix: ctx.fix.drain(),
        }];
      },
    };
  },
);
