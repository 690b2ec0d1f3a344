/** One page of events under the filter, the selected one highlighted; a cursor pages on. */
import React from "react";
import { Box, Text } from "ink";
import { rowKey } from "../../core/event.ts";
import type { TopSnapshot } from "./model.ts";
import { ago, cell } from "./format.ts";

export interface EventListProps {
  page: TopSnapshot["page"];
  at: number;
  selected: number;
  /** 1-based page number */
  pageNo: number;
  filterText: string;
  width: number;
}

export function EventList({ page, at, selected, pageNo, filterText, width }: EventListProps) {
  const idW = 24;
  const rowW = 22;
  const ageW = 11;
  // the marker, each column and its separating space, and one column of slack
  const errW = Math.max(10, width - (2 + idW + 1 + 11 + rowW + 1 + 7 + ageW + 1 + 6 + 1));
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>EVENTS</Text> {filterText ? `[${filterText}] ` : ""}page {pageNo}
        {page.next ? " (more: j/↓ past the end)" : ""}
      </Text>
      <Text dimColor wrap="truncate">
        {"  "}
        {cell("ID", idW)} {cell("STATUS", 10)} {cell("ROW", rowW)} {cell("TYPE", 6)} {cell("AGE", ageW)} {cell("TRIES", 5)} {cell("LAST ERROR", errW)}
      </Text>
      {page.events.length === 0 ? (
        <Text dimColor>  no events match</Text>
      ) : (
        page.events.map((e, i) => (
          <Text key={e.id} inverse={i === selected} wrap="truncate">
            {i === selected ? "> " : "  "}
            {cell(e.id, idW)} {cell(e.status, 10)} {cell(rowKey(e), rowW)} {cell(e.type, 6)} {cell(ago(at - e.timestamp), ageW)} {cell(String(e.attempts ?? e.retryCount), 5)}{" "}
            {cell(e.lastError ?? "", errW)}
          </Text>
        ))
      )}
    </Box>
  );
}
