/**
 * per-row-order: one client's applied edits of a row have versions that never go down as `seq`
 * grows. Two edits may share a version: edits folded together by coalescing, and an edit that
 * changed nothing (a deselect of an entry already gone) reports the version it found.
 */
import type { HistoryState, WriteState } from "./history-state.ts";
import { Tally, type InvariantCheck } from "./verdict.ts";

export function perRowOrder(state: HistoryState): InvariantCheck {
  const tally = new Tally("per-row-order");
  return {
    tallies: [tally],
    finish() {
      for (const writes of state.writesOfRow.values()) {
        const byClient = new Map<string, { w: WriteState; version: number }[]>();
        for (const w of writes) {
          const version = state.appliedVersion(w);
          if (version === undefined || !state.wasApplied(w)) continue;
          const list = byClient.get(w.client);
          if (list) list.push({ w, version });
          else byClient.set(w.client, [{ w, version }]);
        }
        for (const list of byClient.values()) {
          list.sort((a, b) => a.w.seq - b.w.seq);
          for (let i = 1; i < list.length; i++) {
            const a = list[i - 1]!;
            const b = list[i]!;
            tally.checked += 1;
            if (b.version >= a.version) continue;
            tally.violation({
              client: b.w.client, event: b.w.event, row: b.w.row, vt: b.w.settle?.vt ?? b.w.vt,
              message: `${b.w.client}'s edits of ${b.w.row} were applied out of order: ${a.w.event} (seq ${a.w.seq}) at v${a.version}, then ${b.w.event} (seq ${b.w.seq}) at v${b.version}`,
            });
          }
        }
      }
    },
  };
}
