/**
 * nothing-lost: every acked write ends applied (applied, duplicate or coalesced, with exactly one
 * ledger line), dropped by a conflict strategy with the client told (a rollback or a commit), or
 * dead with a reason. Anything else (never settled, left pending or failed, applied without a
 * ledger line) is a lost write.
 */
import type { HistoryState, WriteState } from "./history-state.ts";
import { Tally, type InvariantCheck } from "./verdict.ts";

const APPLIED: ReadonlySet<string> = new Set(["applied", "duplicate", "coalesced"]);

export function nothingLost(state: HistoryState): InvariantCheck {
  const tally = new Tally("nothing-lost");
  return {
    tallies: [tally],
    finish() {
      for (const w of state.writes.values()) {
        tally.checked += 1;
        const problem = whyLost(w);
        if (problem) {
          tally.violation({ client: w.client, event: w.event, row: w.row, vt: w.settle?.vt ?? w.vt, message: `${w.client}'s write ${w.event} to ${w.row} ${problem}` });
        }
      }
    },
  };
}

function whyLost(w: WriteState): string | undefined {
  const s = w.settle;
  if (!s) return "was never settled";
  if (s.status === "dead") return s.reason ? undefined : "ended dead without a reason";
  if (s.status !== "completed") return `was left ${s.status}`;
  if (s.outcome === "conflict") {
    return w.committed || w.rolledBack ? undefined : "was dropped by a conflict but the client was told neither by a rollback nor a commit";
  }
  if (s.outcome === undefined || !APPLIED.has(s.outcome)) return `ended completed with outcome ${s.outcome ?? "(none)"}`;
  const ledger = w.ledger;
  if (!ledger) return `ended ${s.outcome} but has no ledger line`;
  if (ledger.lines > 1) return `ended ${s.outcome} but has ${ledger.lines} ledger lines`;
  if (ledger.outcome === null) return `ended ${s.outcome} but only the audit log has it, not the ledger`;
  return undefined;
}
