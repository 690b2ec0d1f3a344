/**
 * The top of the dashboard: what is watched, the daemon's state, counts by status, throughput,
 * oldest pending age, retries and dead letters, conflicts waiting and the batch in flight.
 */
import React from "react";
import { Box, Text } from "ink";
import { EVENT_STATUSES, type EventStatus } from "../../core/event.ts";
import { totalOf, type TopSnapshot } from "./model.ts";
import { Sparkline } from "./sparkline.tsx";
import { ratesOf } from "./throughput.ts";
import { ago, n } from "./format.ts";

const STATUS_COLOR: Record<EventStatus, string> = {
  pending: "yellow",
  processing: "blue",
  completed: "green",
  failed: "red",
  dead: "magenta",
};

export function StatusPanel({ s, width }: { s: TopSnapshot; width: number }) {
  const d = s.daemon;
  const state = d ? `${d.paused ? "PAUSED" : "running"}${d.draining ? " · draining" : ""} · pid ${d.pid} · up ${ago(d.uptimeMs)}` : "read-only";
  const conflicts = s.conflicts ? `${n(s.conflicts.open)}${s.conflicts.more ? "+" : ""}` : "-";
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>mudsync top</Text> {s.source.kind} {s.source.label} <Text color={d?.paused ? "yellow" : d ? "green" : "gray"}>{state}</Text>
      </Text>
      <Text wrap="truncate">
        {EVENT_STATUSES.map((st) => (
          <Text key={st}>
            <Text color={STATUS_COLOR[st]}>{st}</Text> {n(s.counts[st])}
            {"  "}
          </Text>
        ))}
        <Text dimColor>total {n(totalOf(s.counts))}</Text>
      </Text>
      <Sparkline rates={ratesOf(s)} width={Math.max(10, Math.min(60, width - 40))} />
      <Text wrap="truncate">
        oldest pending {s.oldestPending ? `${ago(s.oldestPending.ageMs)} (${s.oldestPending.id})` : "-"}
        {"  "}retries {d ? n(d.retried) : "-"} · dead letters {n(s.counts.dead)} · conflicts waiting {conflicts}
      </Text>
      <Text wrap="truncate">
        in flight{" "}
        {s.inFlight === null
          ? "- (no daemon)"
          : s.inFlight.length === 0
            ? "nothing"
            : s.inFlight.map((b) => `${b.source} ${b.events > 0 ? `${n(b.events)} events` : "claiming"} for ${ago(s.at - Date.parse(b.startedAt))}`).join("; ")}
        {d?.head ? `  head ${d.head.id} ${d.head.status} for ${ago(d.head.sinceMs)}${d.head.stuck ? " STUCK" : ""}` : ""}
      </Text>
    </Box>
  );
}
