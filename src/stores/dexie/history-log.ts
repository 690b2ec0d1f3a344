/**
 * Event history kept in memory by event id (persisted through the log and snapshot like rows).
 * At most HISTORY_CAP entries are kept per event, the newest ones.
 */
import type { HistoryEntry } from "../../core/ports.ts";

export const HISTORY_CAP = 100;

export class HistoryLog {
  private readonly byEvent = new Map<string, HistoryEntry[]>();
  private total = 0;

  get size(): number {
    return this.total;
  }

  add(entry: HistoryEntry): void {
    let list = this.byEvent.get(entry.eventId);
    if (!list) this.byEvent.set(entry.eventId, (list = []));
    list.push(entry);
    this.total++;
    if (list.length > HISTORY_CAP) {
      list.shift();
      this.total--;
    }
  }

  /** Removes an entry added last for its event (used to roll back an atomic write). */
  removeLast(entry: HistoryEntry): void {
    const list = this.byEvent.get(entry.eventId);
    if (!list || list[list.length - 1] !== entry) return;
    list.pop();
    this.total--;
    if (list.length === 0) this.byEvent.delete(entry.eventId);
  }

  of(eventId: string): HistoryEntry[] {
    return (this.byEvent.get(eventId) ?? []).map((e) => ({ ...e }));
  }

  /** All entries in chunks, for snapshots. */
  *chunks(size: number): Generator<HistoryEntry[]> {
    let chunk: HistoryEntry[] = [];
    for (const list of this.byEvent.values()) {
      for (const e of list) {
        chunk.push(e);
        if (chunk.length >= size) {
          yield chunk;
          chunk = [];
        }
      }
    }
    if (chunk.length) yield chunk;
  }
}
