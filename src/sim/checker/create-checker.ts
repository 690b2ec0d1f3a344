/**
 * The checker: a pure function of a history (docs/sim.md "Invariants"). Records are fed in history
 * order; reads are judged as they stream, against what the records before them established, and
 * the rest once the final server state is in. No I/O: `readHistory` supplies records from a file.
 */
import type { HistoryRecord } from "../history/history-records.ts";
import { convergence } from "./convergence.ts";
import { HistoryState } from "./history-state.ts";
import { monotonicReads } from "./monotonic-reads.ts";
import { monotonicWrites } from "./monotonic-writes.ts";
import { nothingLost } from "./nothing-lost.ts";
import { nothingTwice } from "./nothing-twice.ts";
import { optimistic } from "./optimistic.ts";
import { perRowOrder } from "./per-row-order.ts";
import { readYourWrites } from "./read-your-writes.ts";
import { INVARIANT_NAMES, type InvariantCheck, type InvariantResult, type Verdict, type VerdictStats } from "./verdict.ts";
import { writesFollowReads } from "./writes-follow-reads.ts";

export interface Checker {
  /** Takes the next record of the history. */
  add(record: HistoryRecord): void;
  /** Judges everything added so far (the history should be complete: up to its end record). */
  verdict(): Verdict;
}

export function createChecker(): Checker {
  const state = new HistoryState();
  const checks: InvariantCheck[] = [
    nothingLost(state),
    nothingTwice(state),
    perRowOrder(state),
    readYourWrites(state),
    monotonicReads(),
    monotonicWrites(state),
    writesFollowReads(state),
    convergence(state),
    optimistic(state),
  ];
  let finished: Verdict | undefined;
  return {
    add(record) {
      if (finished) throw new Error("the checker has already given its verdict");
      state.add(record);
      for (const c of checks) c.record?.(record);
    },
    verdict() {
      if (finished) return finished;
      for (const c of checks) c.finish();
      const byName = new Map<string, InvariantResult>();
      for (const c of checks) for (const t of c.tallies) byName.set(t.name, t.result());
      const invariants = INVARIANT_NAMES.map((name) => byName.get(name)!);
      finished = { pass: invariants.every((i) => i.violations === 0), invariants, stats: statsOf(state) };
      return finished;
    },
  };
}

/** Runs the checker over a whole history. */
export async function checkHistory(records: Iterable<HistoryRecord> | AsyncIterable<HistoryRecord>): Promise<Verdict> {
  const checker = createChecker();
  for await (const r of records) checker.add(r);
  return checker.verdict();
}

function statsOf(state: HistoryState): VerdictStats {
  const settled: Record<string, number> = {};
  let applied = 0;
  for (const w of state.writes.values()) {
    const s = w.settle;
    const key = !s ? "unsettled" : s.outcome ? `${s.status}/${s.outcome}` : s.status;
    settled[key] = (settled[key] ?? 0) + 1;
    if (state.wasApplied(w)) applied += 1;
  }
  return {
    clients: state.header?.clients.length ?? 0,
    writes: state.counts.writes,
    acked: state.counts.acked,
    refused: state.counts.refused,
    reads: state.counts.reads,
    settled,
    faults: { ...state.faults },
    events: state.end?.events ?? state.counts.acked,
    durationVt: state.end?.vt ?? 0,
    durationWt: state.end?.wt ?? 0,
    applied,
    duplicates: state.counts.duplicates,
  };
}
