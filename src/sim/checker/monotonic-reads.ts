/**
 * monotonic-reads: a client never reads a row at a lower version than it read before. Reads of a
 * row the client has no confirmed version of (version null: never fetched) are not ordered.
 */
import type { HistoryRecord } from "../history/history-records.ts";
import { Tally, type InvariantCheck } from "./verdict.ts";

export function monotonicReads(): InvariantCheck {
  const tally = new Tally("monotonic-reads");
  /** client, row → the highest version read so far */
  const highest = new Map<string, number>();
  return {
    tallies: [tally],
    record(r: HistoryRecord) {
      if ((r.type !== "read" && r.type !== "final-view") || r.version === null) return;
      tally.checked += 1;
      const key = `${r.client}\u0000${r.row}`;
      const before = highest.get(key);
      if (before !== undefined && r.version < before) {
        const what = r.type === "final-view" ? `'s final view of ${r.row} is` : ` read ${r.row}`;
        tally.violation({ client: r.client, row: r.row, vt: r.vt, message: `${r.client}${what} at v${r.version} after reading v${before}` });
        return;
      }
      highest.set(key, r.version);
    },
    finish() {},
  };
}
