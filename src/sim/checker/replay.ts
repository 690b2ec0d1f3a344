/**
 * The replay of the applied edits of every row, in version order, then `seq` order for edits that
 * share a version (coalesced, or applied at the row's current version because they changed
 * nothing): what the server's rows should hold, and which edits were no-ops. Computed once, after
 * the whole history is in.
 *
 * Edits a client's engine coalesced into one wire event (settled `coalesced`, then the one that
 * closes the run) reach the server as one edit: when the run as a whole left the row as it was
 * (an entry added then removed), every edit in it was a no-op, though each alone changes the row.
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
    /** client → the open coalesced run at the current version: the row before it and its edits */
    let runs = new Map<string, { before: string; edits: WriteState[] }>();
    let runsVersion: number | undefined;
    for (const { w, version } of applied) {
      if (version !== runsVersion) {
        runs = new Map();
        runsVersion = version;
      }
      const run = runs.get(w.client) ?? { before: text, edits: [] };
      value = applyEffect(value, w.lastEffect);
      const next = canonical(value);
      if (next === text) replay.noOps.add(w);
      text = next;
      run.edits.push(w);
      if (w.settle?.outcome === "coalesced") {
        runs.set(w.client, run);
        continue;
      }
      runs.delete(w.client);
      if (run.edits.length > 1 && run.before === text) for (const e of run.edits) replay.noOps.add(e);
    }
    replay.rows.set(row, { value, edits: applied.length });
  }
  replays.set(state, replay);
  return replay;
}
