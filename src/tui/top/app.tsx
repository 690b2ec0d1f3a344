/**
 * `mudsync top`'s Ink app: the state of the screen (view, selection, page cursors, filter), the
 * polling hook, and every key in one useInput. Keys that write go through the source; on a
 * read-only source they say why they are unavailable instead.
 */
import React, { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { type Key, useApp, useInput, useStdout } from "ink";
import { Dashboard, CHROME_ROWS, type View } from "./dashboard.tsx";
import { DEFAULT_FILTER, formatFilter, parseFilter } from "./filter.ts";
import type { EventDetail, EventFilter, TopAction, TopSource } from "./model.ts";
import { useTopData } from "./use-top-data.ts";

export interface TopAppProps {
  source: TopSource;
  intervalMs?: number;
  findingsMs?: number;
  /** rows of events per page (default: what fits the terminal) */
  pageSize?: number;
}

/** What the keys change. Kept in a ref so that keys arriving before the next render see the latest. */
interface UiState {
  filter: EventFilter;
  /** cursors of the pages before and including this one (undefined: the first page) */
  cursors: (string | undefined)[];
  selected: number;
  view: View;
  /** the filter being typed */
  editing: string | undefined;
  detail: EventDetail | undefined;
  message: string | undefined;
}

export function TopApp({ source, intervalMs = 1000, findingsMs = 30_000, pageSize }: TopAppProps) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const width = stdout.columns || 100;
  const rows = stdout.rows || 30;
  const limit = pageSize ?? Math.max(3, rows - CHROME_ROWS);
  const ui = useRef<UiState>({ filter: DEFAULT_FILTER, cursors: [undefined], selected: 0, view: "list", editing: undefined, detail: undefined, message: undefined });
  const [, setVersion] = useState(0);
  const update = (patch: Partial<UiState>) => {
    ui.current = { ...ui.current, ...patch };
    setVersion((v) => v + 1);
  };
  const { filter, cursors, selected, view, editing, detail, message } = ui.current;
  const after = cursors[cursors.length - 1];
  const request = useMemo(() => ({ filter, limit, ...(after !== undefined ? { after } : {}) }), [filter, limit, after]);
  const { snapshot, error, refresh } = useTopData(source, request, intervalMs, findingsMs);
  const latest = useRef(snapshot);
  latest.current = snapshot;
  const events = snapshot?.page.events ?? [];

  // the page may shrink under the selection (events settled and left the filter). Compared with
  // the state as it is now: a key may have moved to another page since this render's snapshot
  useEffect(() => {
    const live = ui.current;
    const liveAfter = live.cursors[live.cursors.length - 1] ?? null;
    if (snapshot?.page.after === liveAfter && events.length > 0 && live.selected > events.length - 1) update({ selected: events.length - 1 });
  });

  const act = (action: TopAction, label: string) => {
    if (source.readOnly !== undefined) return update({ message: `${label}: unavailable — ${source.readOnly}` });
    update({ message: `${label}…` });
    source.act(action).then(
      (text) => {
        update({ message: `${label}: ${text}` });
        refresh();
      },
      (err: unknown) => update({ message: `${label} failed: ${err instanceof Error ? err.message : String(err)}` }),
    );
  };

  const inspect = (id: string) => {
    update({ message: `reading ${id}…` });
    source.event(id).then(
      (d) => update({ detail: d, view: "detail", message: undefined }),
      (err: unknown) => update({ message: `inspect failed: ${err instanceof Error ? err.message : String(err)}` }),
    );
  };

  const move = (delta: 1 | -1) => {
    const s = ui.current;
    const page = latest.current?.page;
    const shown = page?.events.length ?? 0;
    const next = s.selected + delta;
    if (next >= 0 && next < shown) return update({ selected: next });
    if (delta === 1 && page?.next) update({ cursors: [...s.cursors, page.next], selected: 0 });
    else if (delta === -1 && s.cursors.length > 1) update({ cursors: s.cursors.slice(0, -1), selected: limit - 1 });
  };

  // one stable handler for the app's life: a handler that changed each render would be detached and
  // attached again after every render, and a key arriving in between would be lost
  const onKey = useRef<(input: string, key: Key) => void>(() => {});
  onKey.current = (input, key) => {
    const s = ui.current;
    if (s.editing !== undefined) {
      if (key.escape) return update({ editing: undefined });
      if (key.return) {
        const parsed = parseFilter(s.editing);
        if ("error" in parsed) return update({ message: `filter: ${parsed.error}` });
        return update({ filter: parsed.filter, cursors: [undefined], selected: 0, editing: undefined, message: undefined });
      }
      if (key.backspace || key.delete) return update({ editing: s.editing.slice(0, -1) });
      if (input && !key.ctrl && !key.meta) update({ editing: s.editing + input });
      return;
    }
    if (s.view === "help") return update({ view: "list" });
    if (s.view === "detail") {
      if (key.escape || input === "q" || key.return || key.backspace) return update({ view: "list" });
      if (input === "r" && s.detail) act({ kind: "retry", ids: [s.detail.event.id] }, `retry ${s.detail.event.id}`);
      return;
    }
    if (input === "q") return exit();
    if (key.upArrow || input === "k") return move(-1);
    if (key.downArrow || input === "j") return move(1);
    const current = latest.current?.page.events[s.selected];
    if (key.return) return current ? inspect(current.id) : update({ message: "no event selected" });
    if (input === "r") return current ? act({ kind: "retry", ids: [current.id] }, `retry ${current.id}`) : update({ message: "no event selected" });
    if (input === "R") return act({ kind: "retry-failed" }, "retry all failed and dead");
    if (input === "d") return act({ kind: "drain" }, "drain now");
    if (input === "p") {
      const paused = latest.current?.daemon?.paused === true;
      return act({ kind: paused ? "resume" : "pause" }, paused ? "resume" : "pause");
    }
    if (input === "/") return update({ editing: formatFilter(s.filter) });
    if (input === "?") return update({ view: "help" });
  };
  useInput(
    useCallback((input: string, key: Key) => {
      // keys typed faster than they are read arrive as one chunk ("jj", "failed,dead\r"): one at a time
      if (input.length > 1 && !key.ctrl && !key.meta) {
        for (const ch of input) {
          const enter = ch === "\r" || ch === "\n";
          onKey.current(enter ? "" : ch, { ...key, return: enter, shift: /[A-Z]/.test(ch) });
        }
        return;
      }
      onKey.current(input, key);
    }, []),
  );

  return (
    <Dashboard
      snapshot={snapshot}
      error={error}
      view={view}
      selected={selected}
      pageNo={cursors.length}
      filterText={formatFilter(filter)}
      editing={editing}
      detail={detail}
      message={message}
      readOnly={source.readOnly}
      width={width}
      rows={rows}
    />
  );
}
