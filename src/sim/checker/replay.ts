/**
 * The replay of the applied edits of every row, in version order, then `seq` order for edits that
 * share a version (coalesced, or applied at the row's current version because they changed
 * nothing): what the server's rows should hold, and which edits were no-ops. Computed once, after
 * the whole history is in.
 */
import type { RowValue } from "../history/history-records.ts";
import type { HistoryState, WriteState } from "./history-state.ts";
import { applyEffect, canonical } from "./row-values.ts";

export interface Replay {
  /** row → its replayed value and how many applied edits made it */
  rows: Map<string, { value: RowValue; edits: number }>;
  /** applied edits that left the row as it was */
  noOps: Set<WriteState>;
}

const replays = new WeakMap<HistoryState, Replay>();

export function replayOf(state: HistoryState): Replay {
  const done = replays.get(state);
  if (done) return done;
  const replay: Replay = { rows: new Map(), noOps: new Set() };
  for (const [row, writes] of state.writesOfRow) {
    const applied: { w: WriteState; version: number }[] = [];
    for (const w of writes) {
      const version = state.appliedVersion(w);
      if (version !== undefined && state.wasApplied(w)) applied.push({ w, version });
    }
    if (applied.length === 0) continue;
    applied.sort((a, b) => a.version - b.version || a.w.seq - b.w.seq);
    let value: RowValue = null;
    let text = canonical(value);
    for (const { w } of applied) {
      value = applyEffect(value, w.lastEffect);
      const next = canonical(value);
      if (next === text) replay.noOps.add(w);
      text = next;
    }
    replay.rows.set(row, { value, edits: applied.length });
  }
  replays.set(state, replay);
  return replay;
}
