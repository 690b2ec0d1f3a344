/**
 * convergence: after the last drain every client's final view of a row equals the server's row,
 * with nothing pending; and every server row equals the replay of the edits applied to it (each
 * one's last effect) in version order, then `seq` order for edits that share a version.
 */
import type { HistoryRecord, RowValue } from "../history/history-records.ts";
import type { HistoryState, WriteState } from "./history-state.ts";
import { applyEffect, canonical, describeDifference } from "./row-values.ts";
import { Tally, type InvariantCheck } from "./verdict.ts";

interface FinalView {
  client: string;
  row: string;
  vt: number;
  /** canonical text of the value */
  value: string;
}

export function convergence(state: HistoryState): InvariantCheck {
  const tally = new Tally("convergence");
  const views: FinalView[] = [];

  const compareViews = () => {
    for (const v of views) {
      tally.checked += 1;
      const server = state.serverRows.get(v.row);
      const serverValue = server?.value ?? null;
      if (v.value === canonical(serverValue)) continue;
      const view = JSON.parse(v.value) as RowValue;
      tally.violation({
        client: v.client, row: v.row, vt: v.vt,
        message: `${v.client}'s final view of ${v.row} differs from the server's row${server?.version != null ? ` (v${server.version})` : ""}: ${describeDifference(view, serverValue, "view", "server")}`,
      });
    }
  };

  const compareReplay = () => {
    const rows = new Set([...state.serverRows.keys(), ...state.writesOfRow.keys()]);
    for (const row of rows) {
      const applied: { w: WriteState; version: number }[] = [];
      for (const w of state.writesOfRow.get(row) ?? []) {
        const version = state.appliedVersion(w);
        if (version !== undefined && state.wasApplied(w)) applied.push({ w, version });
      }
      const server = state.serverRows.get(row);
      if (applied.length === 0 && !server) continue;
      tally.checked += 1;
      applied.sort((a, b) => a.version - b.version || a.w.seq - b.w.seq);
      let replay: RowValue = null;
      for (const { w } of applied) replay = applyEffect(replay, w.lastEffect);
      const serverValue = server?.value ?? null;
      if (canonical(replay) === canonical(serverValue)) continue;
      tally.violation({
        row,
        message: `the server's row ${row}${server?.version != null ? ` (v${server.version})` : ""} differs from the replay of its ${applied.length} applied edit${applied.length === 1 ? "" : "s"}: ${describeDifference(serverValue, replay, "server", "replay")}`,
      });
    }
  };

  return {
    tallies: [tally],
    record(r: HistoryRecord) {
      if (r.type !== "final-view") return;
      if (r.pending.length > 0) {
        tally.violation({ client: r.client, row: r.row, vt: r.vt, message: `${r.client}'s final view of ${r.row} still has pending edits ${r.pending.join(", ")}` });
      }
      views.push({ client: r.client, row: r.row, vt: r.vt, value: canonical(r.value) });
    },
    finish() {
      compareViews();
      compareReplay();
      views.length = 0;
    },
  };
}
