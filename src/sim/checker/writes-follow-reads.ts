/**
 * writes-follow-reads: an applied edit is applied at a version above the `baseVersion` it was
 * made on (the row version the client's view had when the user made it). An edit that changed
 * nothing (a deselect of an entry already gone) is applied at the row's current version, which
 * may equal its base: only a lower version is wrong for it.
 */
import type { HistoryState } from "./history-state.ts";
import { replayOf } from "./replay.ts";
import { Tally, type InvariantCheck } from "./verdict.ts";

export function writesFollowReads(state: HistoryState): InvariantCheck {
  const tally = new Tally("writes-follow-reads");
  return {
    tallies: [tally],
    finish() {
      for (const w of state.writes.values()) {
        if (w.baseVersion === null || !state.wasApplied(w)) continue;
        const version = state.appliedVersion(w);
        if (version === undefined) continue;
        tally.checked += 1;
        if (version > w.baseVersion || (version === w.baseVersion && replayOf(state).noOps.has(w))) continue;
        tally.violation({
          client: w.client, event: w.event, row: w.row, vt: w.settle?.vt ?? w.vt,
          message: `${w.client}'s edit ${w.event} of ${w.row} was made on v${w.baseVersion} but applied at v${version}`,
        });
      }
    },
  };
}
