/**
 * nothing-twice: no event has more than one `applied` decision in the server's audit log. Judged
 * on each ledger line as it comes.
 */
import type { HistoryRecord } from "../history/history-records.ts";
import type { HistoryState } from "./history-state.ts";
import { Tally, type InvariantCheck } from "./verdict.ts";

export function nothingTwice(state: HistoryState): InvariantCheck {
  const tally = new Tally("nothing-twice");
  return {
    tallies: [tally],
    record(r: HistoryRecord) {
      if (r.type !== "ledger") return;
      tally.checked += 1;
      if (r.audited <= 1) return;
      const w = state.writes.get(r.event);
      tally.violation({
        event: r.event,
        ...(w ? { client: w.client, row: w.row, vt: w.vt } : {}),
        message: `event ${r.event}${w ? ` (${w.client}'s write to ${w.row})` : ""} was applied ${r.audited} times according to the audit log`,
      });
    },
    finish() {},
  };
}
