/**
 * monotonic-writes: a read that shows a client's later write to a row never shows, for a key the
 * same client's earlier write to that row set, a value older than that earlier write (an older
 * write of that client, or one of another client applied at a lower version). Keys the reader's
 * own pending edits set are skipped: they show the reader's layer, not the server's order.
 */
import type { FinalViewRecord, HistoryRecord, ReadRecord } from "../history/history-records.ts";
import type { HistoryState, WriteState } from "./history-state.ts";
import { canonical, effectValue, show, valueAt } from "./row-values.ts";
import { Tally, type InvariantCheck } from "./verdict.ts";

interface Candidate {
  read: ReadRecord | FinalViewRecord;
  key: string;
  earlier: WriteState;
  later: WriteState;
}

type Judgement = { ok: true } | { ok: false; why: string } | undefined;

export function monotonicWrites(state: HistoryState): InvariantCheck {
  const tally = new Tally("monotonic-writes");
  /** client, row → key → the client's acked writes that set it, in seq order */
  const wrote = new Map<string, Map<string, WriteState[]>>();
  const deferred: Candidate[] = [];

  const report = (c: Candidate, expected: unknown, shown: unknown, why: string) => {
    const r = c.read;
    const who = r.type === "final-view" ? `${r.client}'s final view of ${r.row} shows` : `${r.client} read ${r.row} showing`;
    tally.violation({
      client: r.client, event: c.earlier.event, row: r.row, vt: r.vt,
      message: `${who} ${c.later.client}'s write ${c.later.event} but ${c.key} = ${show(shown)}, older than its earlier write ${c.earlier.event} (${show(expected)}); ${why}`,
    });
  };

  const judge = (c: Candidate, final: boolean): Judgement => {
    const { read, key, earlier } = c;
    const expected = effectValue(earlier.lastEffect, key);
    if (expected === undefined || earlier.rolledBack) return { ok: true };
    const shown = valueAt(read.value, key);
    if (canonical(shown) === canonical(expected)) return { ok: true };
    const va = state.appliedVersion(earlier);
    if (va === undefined) {
      // an earlier write the server never applied orders nothing
      const over = final || earlier.settle?.status === "completed" || earlier.settle?.status === "dead";
      return over ? { ok: true } : undefined;
    }
    if (shown === null) {
      if (state.removedAbove(read.row, key, va)) return { ok: true };
      return final ? { ok: false, why: `no write removed it above v${va}` } : undefined;
    }
    const made = state.attribute(read.row, key, shown);
    if (!made) return final ? { ok: false, why: "no write made that value" } : undefined;
    if (made.client === earlier.client) {
      return made.seq > earlier.seq ? { ok: true } : { ok: false, why: `that is ${made.client}'s even earlier write ${made.event}` };
    }
    const vm = state.appliedVersion(made);
    if (vm === undefined) return final ? { ok: true } : undefined;
    return vm > va ? { ok: true } : { ok: false, why: `${made.client}'s write ${made.event} made it at v${vm}, below v${va} of ${earlier.event}` };
  };

  const decide = (c: Candidate, final: boolean) => {
    const j = judge(c, final);
    if (j === undefined) {
      deferred.push(c);
      return;
    }
    if (j.ok) return;
    const shown = valueAt(c.read.value, c.key);
    report(c, effectValue(c.earlier.lastEffect, c.key), shown, j.why);
  };

  const check = (read: ReadRecord | FinalViewRecord) => {
    if (read.value === null) return;
    // the latest write of each client the read shows
    const shownBy = new Map<string, WriteState>();
    for (const [key, value] of Object.entries(read.value)) {
      if (value === null || value === undefined) continue;
      const w = state.attribute(read.row, key, value);
      if (!w) continue;
      const seen = shownBy.get(w.client);
      if (!seen || w.seq > seen.seq) shownBy.set(w.client, w);
    }
    if (shownBy.size === 0) return;
    const layered = new Set<string>();
    for (const id of read.pending) {
      const eff = state.writes.get(id)?.lastEffect;
      if (eff === null) return; // a pending removal of the whole row: the view is the reader's own
      if (eff) for (const k of Object.keys(eff)) layered.add(k);
    }
    for (const [client, later] of shownBy) {
      const keys = wrote.get(`${client}\u0000${read.row}`);
      if (!keys) continue;
      for (const [key, list] of keys) {
        if (layered.has(key)) continue;
        let earlier: WriteState | undefined;
        for (let i = list.length - 1; i >= 0; i--) {
          if (list[i]!.seq < later.seq) {
            earlier = list[i];
            break;
          }
        }
        if (!earlier) continue;
        tally.checked += 1;
        decide({ read, key, earlier, later }, false);
      }
    }
  };

  return {
    tallies: [tally],
    record(r: HistoryRecord) {
      if (r.type === "write") {
        const w = state.writes.get(r.event);
        if (r.outcome !== "acked" || !w || r.effect === null) return;
        const k = `${r.client}\u0000${r.row}`;
        let keys = wrote.get(k);
        if (!keys) wrote.set(k, (keys = new Map()));
        for (const key of Object.keys(r.effect)) {
          const list = keys.get(key);
          if (list) list.push(w);
          else keys.set(key, [w]);
        }
      } else if (r.type === "read" || r.type === "final-view") {
        check(r);
      }
    },
    finish() {
      const waiting = deferred.splice(0);
      for (const c of waiting) decide(c, true);
    },
  };
}
