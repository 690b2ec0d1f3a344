/**
 * The in-memory history keeps entries compactly (no event id per entry, shared note strings)
 * but answers exactly what was added: per event in order, capped at the newest HISTORY_CAP,
 * undone newest first, and streamed whole for snapshots.
 */
import { describe, expect, it } from "vitest";
import type { HistoryEntry } from "../../src/core/ports.ts";
import { HISTORY_CAP, EventHistory } from "../../src/stores/dexie/events/event-history.ts";

const claimed = (id: string, at: number): HistoryEntry => ({ eventId: id, at, from: "pending", to: "processing", note: `claimed by ${"host"}:${at % 7}` });
const settled = (id: string, at: number): HistoryEntry => ({ eventId: id, at, from: "processing", to: "completed", note: "completed: applied v1" });

describe("history log", () => {
  it("gives back each event's entries as added, with the event id", () => {
    const log = new EventHistory();
    log.add(claimed("a", 1));
    log.add({ eventId: "b", at: 2, to: "pending" });
    log.add(settled("a", 3));
    expect(log.of("a")).toStrictEqual([claimed("a", 1), settled("a", 3)]);
    expect(log.of("b")).toStrictEqual([{ eventId: "b", at: 2, to: "pending" }]);
    expect(log.of("none")).toStrictEqual([]);
    expect(log.size).toBe(3);
  });

  it("hands out copies: changing them changes nothing kept", () => {
    const log = new EventHistory();
    log.add(claimed("a", 1));
    log.of("a")[0]!.note = "changed";
    expect(log.of("a")[0]!.note).toBe(claimed("a", 1).note);
  });

  it("keeps the newest HISTORY_CAP entries of an event", () => {
    const log = new EventHistory();
    for (let i = 0; i < HISTORY_CAP + 15; i++) log.add({ eventId: "a", at: i, to: "pending", note: `n${i}` });
    const kept = log.of("a");
    expect(kept).toHaveLength(HISTORY_CAP);
    expect(kept[0]!.at).toBe(15);
    expect(kept.at(-1)!.at).toBe(HISTORY_CAP + 14);
    expect(log.size).toBe(HISTORY_CAP);
  });

  it("undoes the last entries of events, newest first, and ignores an entry that is not last", () => {
    const log = new EventHistory();
    log.add(claimed("a", 1));
    log.add(claimed("b", 1));
    log.add(settled("a", 2));
    log.removeLast(claimed("a", 1)); // not the last of a: ignored
    expect(log.size).toBe(3);
    log.removeLast(settled("a", 2));
    log.removeLast(claimed("b", 1));
    expect(log.of("a")).toStrictEqual([claimed("a", 1)]);
    expect(log.of("b")).toStrictEqual([]);
    expect(log.size).toBe(1);
  });

  it("streams every entry in chunks for a snapshot", () => {
    const log = new EventHistory();
    const added: HistoryEntry[] = [];
    for (let i = 0; i < 25; i++) {
      for (const h of [claimed(`e${i}`, i), settled(`e${i}`, i + 100)]) {
        log.add(h);
        added.push(h);
      }
    }
    const chunks = [...log.chunks(7)];
    expect(chunks.map((c) => c.length)).toEqual([7, 7, 7, 7, 7, 7, 7, 1]);
    const byEvent = (list: HistoryEntry[]) => [...list].sort((x, y) => (x.eventId < y.eventId ? -1 : x.eventId > y.eventId ? 1 : x.at - y.at));
    expect(byEvent(chunks.flat())).toStrictEqual(byEvent(added));
  });
});
