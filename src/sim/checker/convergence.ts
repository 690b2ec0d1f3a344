/**
 * convergence: after the last drain every client's final view of a row equals the server's row,
 * with nothing pending; and every server row equals the replay of the edits applied to it (each
 * one's last effect, replay.ts).
 */
import type { HistoryRecord, RowValue } from "../history/history-records.ts";
import type { HistoryState } from "./history-state.ts";
import { replayOf } from "./replay.ts";
import { canonical, describeDifference } from "./row-values.ts";
import { Tally, type InvariantCheck } from "./verdict.ts";

interface FinalView {
  client: string;
  row: string;
  vt: number;
  /** canonical text of the value */
  value: string;
  /** edits still layered on the view (kept only when there are some) */
  pending?: string[];
}

export function convergence(state: HistoryState): InvariantCheck {
  const tally = new Tally("convergence");
  const views: FinalView[] = [];

  const compareViews = () => {
    for (const v of views) {
      tally.checked += 1;
      if (v.pending) {
        tally.violation({ client: v.client, row: v.row, vt: v.vt, message: `${v.client}'s final view of ${v.row} still has pending edits ${v.pending.join(", ")}` });
        continue;
      }
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
    const { rows: replayed } = replayOf(state);
    const rows = new Set([...state.serverRows.keys(), ...replayed.keys()]);
    for (const row of rows) {
      const server = state.serverRows.get(row);
      const serverValue = server?.value ?? null;
      const { value, edits } = replayed.get(row) ?? { value: null, edits: 0 };
      tally.checked += 1;
      if (canonical(value) === canonical(serverValue)) continue;
      tally.violation({
        row,
        message: `the server's row ${row}${server?.version != null ? ` (v${server.version})` : ""} differs from the replay of its ${edits} applied edit${edits === 1 ? "" : "s"}: ${describeDifference(serverValue, value, "server", "replay")}`,
      });
    }
  };

  return {
    tallies: [tally],
    record(r: HistoryRecord) {
      if (r.type !== "final-view") return;
      views.push({ client: r.client, row: r.row, vt: r.vt, value: canonical(r.value), ...(r.pending.length > 0 ? { pending: r.pending } : {}) });
    },
    finish() {
      compareViews();
      compareReplay();
      views.length = 0;
    },
  };
}
