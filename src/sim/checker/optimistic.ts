/**
 * optimistic: every acked write of a client ends with a `commit` or a `rollback` of its
 * optimistic edit, and no final view still layers an edit on top of the server's row.
 */
import type { HistoryRecord } from "../history/history-records.ts";
import type { HistoryState } from "./history-state.ts";
import { Tally, type InvariantCheck } from "./verdict.ts";

export function optimistic(state: HistoryState): InvariantCheck {
  const tally = new Tally("optimistic");
  return {
    tallies: [tally],
    record(r: HistoryRecord) {
      if (r.type !== "final-view") return;
      tally.checked += 1;
      if (r.pending.length === 0) return;
      const edits = r.pending.length === 1 ? `its edit ${r.pending[0]}` : `its edits ${r.pending.join(", ")}`;
      tally.violation({ client: r.client, event: r.pending[0]!, row: r.row, vt: r.vt, message: `${r.client}'s final view of ${r.row} still layers ${edits}` });
    },
    finish() {
      for (const w of state.writes.values()) {
        tally.checked += 1;
        if (w.committed || w.rolledBack) continue;
        tally.violation({
          client: w.client, event: w.event, row: w.row, vt: w.settle?.vt ?? w.vt,
          message: `${w.client}'s write ${w.event} to ${w.row} ended with neither a commit nor a rollback of its optimistic edit`,
        });
      }
    },
  };
}
