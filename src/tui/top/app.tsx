/**
 * `mudsync top`'s Ink app: the state of the screen (view, selection, page cursors, filter), the
 * polling hook, and every key in one useInput. Keys that write go through the source; on a
 * read-only source they say why they are unavailable instead.
 */
import React, { useEffect, useMemo, useState } from "react";
import { useApp, useInput, useStdout } from "ink";
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

export function TopApp({ source, intervalMs = 1000, findingsMs = 30_000, pageSize }: TopAppProps) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const width = stdout.columns || 100;
  const rows = stdout.rows || 30;
  const limit = pageSize ?? Math.max(3, rows - CHROME_ROWS);
  const [filter, setFilter] = useState<EventFilter>(DEFAULT_FILTER);
  /** cursors of the pages before and including this one (undefined: the first page) */
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [selected, setSelected] = useState(0);
  const [view, setView] = useState<View>("list");
  const [editing, setEditing] = useState<string | undefined>();
  const [detail, setDetail] = useState<EventDetail | undefined>();
  const [message, setMessage] = useState<string | undefined>();
  const after = cursors[cursors.length - 1];
  const request = useMemo(() => ({ filter, limit, ...(after !== undefined ? { after } : {}) }), [filter, limit, after]);
  const { snapshot, error, refresh } = useTopData(source, request, intervalMs, findingsMs);
  const events = snapshot?.page.events ?? [];

  // the page may shrink under the selection (events settled and left the filter)
  useEffect(() => {
    if (events.length > 0 && selected > events.length - 1) setSelected(events.length - 1);
  }, [events.length, selected]);

  const act = (action: TopAction, label: string) => {
    if (source.readOnly !== undefined) {
      setMessage(`${label}: unavailable — ${source.readOnly}`);
      return;
    }
    setMessage(`${label}…`);
    source.act(action).then(
      (text) => {
        setMessage(`${label}: ${text}`);
        refresh();
      },
      (err: unknown) => setMessage(`${label} failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  };

  const inspect = (id: string) => {
    setMessage(`reading ${id}…`);
    source.event(id).then(
      (d) => {
        setDetail(d);
        setView("detail");
        setMessage(undefined);
      },
      (err: unknown) => setMessage(`inspect failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  };

  const move = (delta: 1 | -1) => {
    const next = selected + delta;
    if (next >= 0 && next < events.length) return setSelected(next);
    if (delta === 1 && snapshot?.page.next) {
      setCursors([...cursors, snapshot.page.next]);
      setSelected(0);
    } else if (delta === -1 && cursors.length > 1) {
      setCursors(cursors.slice(0, -1));
      setSelected(limit - 1);
    }
  };

  useInput((input, key) => {
    if (editing !== undefined) {
      if (key.escape) return setEditing(undefined);
      if (key.return) {
        const parsed = parseFilter(editing);
        if ("error" in parsed) return setMessage(`filter: ${parsed.error}`);
        setFilter(parsed.filter);
        setCursors([undefined]);
        setSelected(0);
        setEditing(undefined);
        return setMessage(undefined);
      }
      if (key.backspace || key.delete) return setEditing(editing.slice(0, -1));
      if (input && !key.ctrl && !key.meta) setEditing(editing + input);
      return;
    }
    if (view === "help") return setView("list");
    if (input === "q" && view === "list") return exit();
    if (view === "detail") {
      if (key.escape || input === "q" || key.return || key.backspace) return setView("list");
      if (input === "r" && detail) act({ kind: "retry", ids: [detail.event.id] }, `retry ${detail.event.id}`);
      return;
    }
    if (key.upArrow || input === "k") return move(-1);
    if (key.downArrow || input === "j") return move(1);
    const current = events[selected];
    if (key.return) return current ? inspect(current.id) : setMessage("no event selected");
    if (input === "r") return current ? act({ kind: "retry", ids: [current.id] }, `retry ${current.id}`) : setMessage("no event selected");
    if (input === "R") return act({ kind: "retry-failed" }, "retry all failed and dead");
    if (input === "d") return act({ kind: "drain" }, "drain now");
    if (input === "p") {
      const paused = snapshot?.daemon?.paused === true;
      return act({ kind: paused ? "resume" : "pause" }, paused ? "resume" : "pause");
    }
    if (input === "/") return setEditing(formatFilter(filter));
    if (input === "?") return setView("help");
  });

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
