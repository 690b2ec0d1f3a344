/**
 * Event history kept in memory by event id (persisted through the log and snapshot like rows).
 * At most HISTORY_CAP entries are kept per event, the newest ones.
 *
 * A drain adds two entries per event (claimed, settled), so this grows with the queue and is
 * kept lean: an entry is stored without its event id (the map key holds it), statuses and
 * repeated notes ("claimed by host:pid", "completed: applied v1") share one string each instead
 * of a copy per entry, and an event's list is exactly as long as its entries: about half the heap
 * per event of plain entry objects.
 */
import { EVENT_STATUSES, type EventStatus } from "../../../core/event.ts";
import type { HistoryEntry } from "../../../core/ports.ts";

export const HISTORY_CAP = 100;

/** distinct notes shared; past this, notes are kept as given (a bound, not a cache) */
const NOTES_SHARED_MAX = 4096;
/** lists up to this length are copied on add (exact size); longer ones grow in place */
const EXACT_LIST_MAX = 8;

/** An entry as stored: the event id is the key of its list. */
interface Stored {
  at: number;
  from?: EventStatus;
  to: EventStatus;
  note?: string;
}

const STATUS = new Map<string, EventStatus>(EVENT_STATUSES.map((s) => [s, s]));

export class EventHistory {
  private readonly byEvent = new Map<string, Stored[]>();
  private readonly notes = new Map<string, string>();
  private total = 0;

  get size(): number {
    return this.total;
  }

  add(entry: HistoryEntry): void {
    const stored = this.store(entry);
    const list = this.byEvent.get(entry.eventId);
    if (!list) this.byEvent.set(entry.eventId, [stored]);
    else if (list.length < EXACT_LIST_MAX) this.byEvent.set(entry.eventId, [...list, stored]);
    else list.push(stored);
    this.total++;
    const now = this.byEvent.get(entry.eventId)!;
    if (now.length > HISTORY_CAP) {
      now.shift();
      this.total--;
    }
  }

  /** Removes an entry added last for its event (used to roll back an atomic write). */
  removeLast(entry: HistoryEntry): void {
    const list = this.byEvent.get(entry.eventId);
    const last = list?.[list.length - 1];
    if (!list || !last || !sameEntry(last, entry)) return;
    list.pop();
    this.total--;
    if (list.length === 0) this.byEvent.delete(entry.eventId);
  }

  of(eventId: string): HistoryEntry[] {
    return (this.byEvent.get(eventId) ?? []).map((e) => entryOf(eventId, e));
  }

  /** All entries in chunks, for snapshots. */
  chunks(size: number): Generator<HistoryEntry[]> {
    return chunksOf(this.byEvent, size);
  }

  /**
   * The entries as they are now, unchanged by later adds: a snapshot written while writes go on
   * (writer/live-compaction.ts). Lists shorter than EXACT_LIST_MAX are replaced on add, never
   * changed, so only the longer ones, which grow in place, are copied. (removeLast changes a list
   * in place: it runs only in an atomic group's rollback, and no group runs during a compaction.)
   */
  freeze(): FrozenHistory {
    const lists = new Map<string, Stored[]>();
    for (const [id, list] of this.byEvent) lists.set(id, list.length >= EXACT_LIST_MAX ? list.slice() : list);
    return { size: this.total, chunks: (size) => chunksOf(lists, size) };
  }

  private store(entry: HistoryEntry): Stored {
    const stored: Stored = { at: entry.at, to: STATUS.get(entry.to) ?? entry.to };
    if (entry.from !== undefined) stored.from = STATUS.get(entry.from) ?? entry.from;
    if (entry.note !== undefined) stored.note = this.shared(entry.note);
    return stored;
  }

  private shared(note: string): string {
    const known = this.notes.get(note);
    if (known !== undefined) return known;
    if (this.notes.size < NOTES_SHARED_MAX) this.notes.set(note, note);
    return note;
  }
}

export interface FrozenHistory {
  readonly size: number;
  chunks(size: number): Generator<HistoryEntry[]>;
}

function* chunksOf(lists: Map<string, Stored[]>, size: number): Generator<HistoryEntry[]> {
  let chunk: HistoryEntry[] = [];
  for (const [eventId, list] of lists) {
    for (const e of list) {
      chunk.push(entryOf(eventId, e));
      if (chunk.length >= size) {
        yield chunk;
        chunk = [];
      }
    }
  }
  if (chunk.length) yield chunk;
}

function sameEntry(s: Stored, e: HistoryEntry): boolean {
  return s.at === e.at && s.from === e.from && s.to === e.to && s.note === e.note;
}

/** A fresh HistoryEntry (callers may change what they get). */
function entryOf(eventId: string, s: Stored): HistoryEntry {
  const e: HistoryEntry = s.from !== undefined ? { eventId, at: s.at, from: s.from, to: s.to } : { eventId, at: s.at, to: s.to };
  if (s.note !== undefined) e.note = s.note;
  return e;
}
