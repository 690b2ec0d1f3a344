/**
 * nothing-twice: no event has more than one `applied` decision in the server's audit log.
 */
import type { HistoryState } from "./history-state.ts";
import { Tally, type InvariantCheck } from "./verdict.ts";

export function nothingTwice(state: HistoryState): InvariantCheck {
  const tally = new Tally("nothing-twice");
  return {
    tallies: [tally],
    finish() {
      for (const [event, entry] of state.ledger) {
        tally.checked += 1;
        if (entry.audited <= 1) continue;
        const w = state.writes.get(event);
        tally.violation({
          event,
          ...(w ? { client: w.client, row: w.row, vt: w.vt } : {}),
          message: `event ${event}${w ? ` (${w.client}'s write to ${w.row})` : ""} was applied ${entry.audited} times according to the audit log`,
        });
      }
    },
  };
}
