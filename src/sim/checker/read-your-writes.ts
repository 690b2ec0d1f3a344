/**
 * read-your-writes: a client's read of a row shows, for every key its latest acked write set
 * before the read, that write's value — unless the write was rolled back before the read, or
 * another client's write to the key, applied at a higher version, is what the read shows. A chart
 * entry the client deselected and then read selected is reported as `deselected-reappeared`.
 */
import type { HistoryRecord, ReadRecord, FinalViewRecord } from "../history/history-records.ts";
import type { HistoryState, WriteState } from "./history-state.ts";
import { canonical, effectValue, show, valueAt } from "./row-values.ts";
import { Tally, type InvariantCheck } from "./verdict.ts";

interface Candidate {
  read: ReadRecord | FinalViewRecord;
  key: string;
  write: WriteState;
  expected: unknown;
  shown: unknown;
  tally: Tally;
}

type Judgement = { ok: true } | { ok: false; why: string } | undefined;

export function readYourWrites(state: HistoryState): InvariantCheck {
  const ryw = new Tally("read-your-writes");
  const deselected = new Tally("deselected-reappeared");
  /** client, row → key → the client's latest acked, not rolled back write that set it */
  const latest = new Map<string, Map<string, WriteState>>();
  /** mismatches the versions known at the read could not judge; judged at the end */
  const deferred: Candidate[] = [];

  const keysOf = (client: string, row: string): Map<string, WriteState> => {
    const k = `${client}\u0000${row}`;
    let m = latest.get(k);
    if (!m) latest.set(k, (m = new Map()));
    return m;
  };

  const report = (c: Candidate, why: string) => {
    const r = c.read;
    const who = r.type === "final-view" ? `${r.client}'s final view of ${r.row} shows` : `${r.client} read ${r.row} with`;
    const message =
      c.tally === deselected
        ? `${r.client} deselected ${c.key} of ${r.row} (${c.write.event}) but ${r.type === "final-view" ? "its final view has" : "then read"} it selected as ${show(c.shown)}; ${why}`
        : `${who} ${c.key} = ${show(c.shown)} after its write ${c.write.event} set ${show(c.expected)}; ${why}`;
    c.tally.violation({ client: r.client, event: c.write.event, row: r.row, vt: r.vt, message });
  };

  /**
   * The version that orders the client's write against others: the applied one; for an edit the
   * strategy dropped as already reflected (completed and committed, never applied), the version it
   * was made on; for one never applied, nothing older may replace it.
   */
  const versionOf = (w: WriteState, final: boolean): number | undefined => {
    const v = state.appliedVersion(w);
    if (v !== undefined) return v;
    if (w.settle?.status === "completed" && w.committed) return w.baseVersion ?? -Infinity;
    return final ? Infinity : undefined;
  };

  const judge = (c: Candidate, final: boolean): Judgement => {
    const { read, key, write } = c;
    const v1 = versionOf(write, final);
    if (c.shown === null) {
      if (v1 !== undefined && state.removedAbove(read.row, key, v1, read.client)) return { ok: true };
      return final ? { ok: false, why: "no other client removed it at a higher version" } : undefined;
    }
    const other = state.attribute(read.row, key, c.shown);
    // judged at the end, in case a write is recorded after a read already shows its value
    if (!other) return final ? { ok: false, why: "no write made that value" } : undefined;
    if (other.client === read.client) return { ok: false, why: `that is its own older write ${other.event}` };
    const v2 = state.appliedVersion(other);
    if (v2 === undefined) return final ? { ok: false, why: `${other.client}'s write ${other.event} that made it was never applied` } : undefined;
    if (v1 === undefined) return undefined;
    if (v2 > v1) return { ok: true };
    const mine = Number.isFinite(v1) ? `v${v1} of ${write.event}` : `${write.event}, which was never applied`;
    return { ok: false, why: `${other.client}'s write ${other.event} made it at v${v2}, not above ${mine}` };
  };

  const check = (read: ReadRecord | FinalViewRecord) => {
    const m = latest.get(`${read.client}\u0000${read.row}`);
    if (!m) return;
    for (const [key, write] of m) {
      const expected = effectValue(write.lastEffect, key);
      if (expected === undefined) continue;
      const tally = expected === null && write.lastEffect !== null ? deselected : ryw;
      tally.checked += 1;
      const shown = valueAt(read.value, key);
      if (canonical(shown) === canonical(expected)) continue;
      const c: Candidate = { read, key, write, expected, shown, tally };
      const j = judge(c, false);
      if (j === undefined) deferred.push(c);
      else if (!j.ok) report(c, j.why);
    }
  };

  return {
    tallies: [ryw, deselected],
    record(r: HistoryRecord) {
      switch (r.type) {
        case "write": {
          const w = state.writes.get(r.event);
          if (r.outcome !== "acked" || !w) return;
          const m = keysOf(r.client, r.row);
          if (r.effect === null) for (const k of m.keys()) m.set(k, w);
          else for (const k of Object.keys(r.effect)) m.set(k, w);
          return;
        }
        case "settle":
        case "rollback": {
          if (r.type === "settle" && r.effect === undefined) return;
          const w = state.writes.get(r.event);
          const m = latest.get(`${r.client}\u0000${r.row}`);
          if (!w || !m) return;
          // a rolled-back edit no longer shows; a resubmitted one shows only the keys it still sets
          for (const [k, x] of m) {
            if (x === w && (r.type === "rollback" || effectValue(w.lastEffect, k) === undefined)) m.delete(k);
          }
          return;
        }
        case "read":
        case "final-view":
          check(r);
          return;
        default:
          return;
      }
    },
    finish() {
      for (const c of deferred) {
        const j = judge(c, true);
        if (j && !j.ok) report(c, j.why);
      }
      deferred.length = 0;
    },
  };
}
