/** One event inspected: its fields, attempts, last error, payload and status history. */
import React from "react";
import { Box, Text } from "ink";
import { rowKey } from "../../core/event.ts";
import type { EventDetail as Detail } from "./model.ts";
import { ago } from "./format.ts";

export function EventDetail({ detail, now, rows }: { detail: Detail; now: number; rows: number }) {
  const e = detail.event;
  const payload = JSON.stringify(e.payload, null, 2).split("\n");
  const room = Math.max(3, rows - 10 - Math.min(detail.history.length, 8));
  return (
    <Box flexDirection="column">
      <Text bold>
        event {e.id} <Text dimColor>(esc back · r retry it)</Text>
      </Text>
      <Text>
        row {rowKey(e)} · {e.type} · <Text color={e.status === "failed" || e.status === "dead" ? "red" : undefined}>{e.status}</Text> · queued {ago(now - e.timestamp)} ago
      </Text>
      <Text>
        attempts {e.attempts ?? 0} · retries {e.retryCount}
        {e.nextAttemptAt !== undefined ? ` · next attempt ${e.nextAttemptAt > now ? `in ${ago(e.nextAttemptAt - now)}` : "due"}` : ""}
        {e.clientId !== undefined ? ` · client ${e.clientId} seq ${e.seq ?? "-"}` : ""}
      </Text>
      <Text wrap="truncate">last error {e.lastError ?? "-"}</Text>
      <Text bold>payload</Text>
      {payload.slice(0, room).map((line, i) => (
        <Text key={i} wrap="truncate">
          {"  "}
          {line}
        </Text>
      ))}
      {payload.length > room ? <Text dimColor>  … {payload.length - room} more lines (mudsync queue show {e.id})</Text> : null}
      <Text bold>history</Text>
      {detail.history.length === 0 ? (
        <Text dimColor>  none recorded</Text>
      ) : (
        detail.history.slice(-8).map((h, i) => (
          <Text key={i} wrap="truncate">
            {"  "}
            {new Date(h.at).toISOString()} {h.from ?? "-"} → {h.to}
            {h.note ? `  ${h.note}` : ""}
          </Text>
        ))
      )}
    </Box>
  );
}
