/**
 * POST /v1/retry: moves chosen events (by id, or every event of some statuses) back to pending,
 * due now, with attempts reset, the way `queue replay` does. Events in flight under a live lease
 * are left alone and reported as skipped, so an event is never handed out twice at once.
 */
import { requeueChange } from "../core/requeue.ts";
import type { EventStatus, QueuedEvent } from "../core/event.ts";
import type { EventChange, QueueStore } from "../core/ports.ts";
import type { RetryResult, RetrySelection } from "./control-api.ts";

const PAGE = 1000;
/** most events one retry call moves */
export const MAX_RETRY = 100_000;

export async function retryEvents(
  store: QueueStore,
  sel: RetrySelection,
  now: number,
  /** called with each page of events once they are back to pending (the daemon audits them) */
  onMoved: (events: QueuedEvent[]) => Promise<void> = async () => {},
): Promise<RetryResult> {
  const skipped: RetryResult["skipped"] = [];
  const chosen: QueuedEvent[] = [];
  const seen = new Set<string>();
  const take = (e: QueuedEvent) => {
    if (seen.has(e.id)) return;
    seen.add(e.id);
    if (e.status === "processing" && (e.leaseUntil ?? 0) > now) skipped.push({ id: e.id, reason: "in flight under a live lease" });
    else chosen.push(e);
  };
  if (sel.ids) {
    const found = await store.getMany(sel.ids);
    sel.ids.forEach((id, i) => {
      const e = found[i];
      if (e) take(e);
      else skipped.push({ id, reason: "no such event" });
    });
  }
  if (sel.statuses) await collectByStatus(store, sel.statuses, take, () => chosen.length >= MAX_RETRY);
  let moved = 0;
  for (let i = 0; i < chosen.length; i += PAGE) {
    const page = chosen.slice(i, i + PAGE);
    const changes: EventChange[] = page.map((e) => requeueChange(e, "retry (control API)", Date.now()));
    await store.update(changes);
    moved += changes.length;
    await onMoved(page);
  }
  return { moved, skipped };
}

/** Pages through the statuses (ids first, then updates, so paging never sees its own writes). */
async function collectByStatus(
  store: QueueStore,
  statuses: EventStatus[],
  take: (e: QueuedEvent) => void,
  full: () => boolean,
): Promise<void> {
  let after: string | undefined;
  do {
    const page = await store.list({ statuses, limit: PAGE, order: "asc", ...(after ? { after } : {}) });
    for (const e of page.events) take(e);
    after = page.next ?? undefined;
  } while (after && !full());
}
