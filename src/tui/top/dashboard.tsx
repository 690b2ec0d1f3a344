/**
 * The whole screen for one state: the status panel, then the event list, the change feed and the
 * doctor's findings, or the view that replaces them (an event inspected, the help), and a footer
 * with the filter being typed, the last message and the keys. A pure function of its props.
 */
import React from "react";
import { Box, Text } from "ink";
import type { EventDetail as Detail, TopSnapshot } from "./model.ts";
import { StatusPanel } from "./status-panel.tsx";
import { EventList } from "./event-list.tsx";
import { EventDetail } from "./event-detail.tsx";
import { ChangeFeed } from "./change-feed.tsx";
import { FindingsPanel } from "./findings-panel.tsx";
import { Help } from "./help.tsx";
import { FilterBar } from "./filter-bar.tsx";

export type View = "list" | "detail" | "help";

export interface DashboardProps {
  snapshot: TopSnapshot | undefined;
  error: string | undefined;
  view: View;
  selected: number;
  pageNo: number;
  filterText: string;
  /** the filter being typed (undefined: not typing) */
  editing: string | undefined;
  detail: Detail | undefined;
  message: string | undefined;
  readOnly: string | undefined;
  width: number;
  rows: number;
}

/** Lines the panels around the event list take (status 5, list header 2, side panels 6, footer 2). */
export const CHROME_ROWS = 15;

export function Dashboard(p: DashboardProps) {
  const s = p.snapshot;
  return (
    <Box flexDirection="column" width={p.width}>
      {s ? <StatusPanel s={s} width={p.width} /> : <Text>mudsync top: reading…</Text>}
      {p.view === "help" ? (
        <Help readOnly={p.readOnly} />
      ) : p.view === "detail" && p.detail ? (
        <EventDetail detail={p.detail} now={s?.at ?? Date.now()} rows={p.rows - 6} />
      ) : s ? (
        <>
          <EventList page={s.page} at={s.at} selected={p.selected} pageNo={p.pageNo} filterText={p.filterText} width={p.width} />
          <Box>
            <Box width="50%">
              <ChangeFeed changes={s.changes} at={s.at} rows={4} />
            </Box>
            <Box width="50%">
              <FindingsPanel findings={s.findings} rows={2} />
            </Box>
          </Box>
        </>
      ) : null}
      {p.editing !== undefined ? <FilterBar text={p.editing} /> : null}
      {p.error !== undefined ? (
        <Text color="red" wrap="truncate">
          refresh failed: {p.error}
        </Text>
      ) : null}
      {p.message !== undefined ? <Text wrap="truncate">{p.message}</Text> : null}
      <Text dimColor wrap="truncate">
        ↑↓/jk move · enter inspect · r retry · R retry failed · d drain · p pause/resume · / filter · ? help · q quit
        {p.readOnly !== undefined ? " · read-only" : ""}
      </Text>
    </Box>
  );
}
