/**
 * Chooses which events a claim leases, in (timestamp, id) order: pending events (the store's
 * in-memory pending order) merged with due retries and expired leases. An event is
 * handed out only when every earlier open event of its row (by compareRowOrder) is handed out in
 * the same claim before it, so a row's edits never overtake each other and nothing passes an
 * event that is processing under a live lease or waiting for its retry.
 */
import { compareRowOrder, type QueuedEvent } from "../../../core/event.ts";
import { comparePosition, type Position } from "../events/index-pager.ts";
import type { OpenEventIndex, OpenInfo } from "../events/open-event-index.ts";

export interface ClaimPlanInput {
  open: OpenEventIndex;
  now: number;
  limit: number;
  /** next page of pending ids after a position, ascending */
  pendingPage(after: Position | undefined, size: number): Promise<string[]>;
}

const asOrder = (i: OpenInfo) => i as unknown as QueuedEvent;

function isDue(info: OpenInfo, now: number): boolean {
  if (info.status === "processing") return info.leaseUntil === undefined || info.leaseUntil <= now;
  return info.nextAttemptAt === undefined || info.nextAttemptAt <= now;
}

/** Returns the open infos to lease, at most limit, in the order they were chosen. */
export async function planClaim(input: ClaimPlanInput): Promise<OpenInfo[]> {
  const { open, now, limit } = input;
  const chosen: OpenInfo[] = [];
  if (limit <= 0) return chosen;
  const chosenIds = new Set<string>();
  // each row's open events in row order, and how far into that list the claim has got
  const rows = new Map<string, { sorted: OpenInfo[]; next: number }>();

  const consider = (info: OpenInfo): void => {
    if (chosenIds.has(info.id) || !isDue(info, now)) return;
    let row = rows.get(info.row);
    if (!row) {
      const sorted = [...(open.byRow.get(info.row) ?? [])].sort((a, b) => compareRowOrder(asOrder(a), asOrder(b)));
      rows.set(info.row, (row = { sorted, next: 0 }));
    }
    while (row.next < row.sorted.length && chosenIds.has(row.sorted[row.next]!.id)) row.next++;
    if (row.sorted[row.next] !== info) return; // an earlier event of the row goes first
    chosen.push(info);
    chosenIds.add(info.id);
    row.next++;
  };

  const scheduled = [...open.scheduled]
    .filter((i) => i.status !== "pending" && isDue(i, now))
    .sort((a, b) => comparePosition({ ts: a.timestamp, id: a.id }, { ts: b.timestamp, id: b.id }));
  let s = 0;

  const pageSize = Math.min(Math.max(limit * 2, 256), 4096);
  const maxExamined = Math.max(limit * 20, 10_000);
  let examined = 0;
  let after: Position | undefined;
  let page: OpenInfo[] = [];
  let p = 0;
  let pendingDone = open.counts.pending === 0;

  while (chosen.length < limit) {
    if (p >= page.length && !pendingDone) {
      const ids = examined >= maxExamined ? [] : await input.pendingPage(after, pageSize);
      examined += ids.length;
      page = ids.map((id) => open.byId.get(id)).filter((i): i is OpenInfo => i !== undefined);
      p = 0;
      // a short page is the last one; ids missing from memory would stall paging, so stop there too
      if (ids.length < pageSize || page.length < ids.length) pendingDone = true;
      const last = page[page.length - 1];
      if (last) after = { ts: last.timestamp, id: last.id };
    }
    const nextPending = p < page.length ? page[p] : undefined;
    const nextScheduled = s < scheduled.length ? scheduled[s] : undefined;
    if (!nextPending && !nextScheduled) break;
    const takePending =
      nextPending !== undefined &&
      (nextScheduled === undefined ||
        comparePosition({ ts: nextPending.timestamp, id: nextPending.id }, { ts: nextScheduled.timestamp, id: nextScheduled.id }) < 0);
    if (takePending) {
      p++;
      consider(nextPending!);
    } else {
      s++;
      consider(nextScheduled!);
    }
  }
  return chosen;
}
