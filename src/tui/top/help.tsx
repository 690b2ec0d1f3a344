/** The keys, and which of them write (unavailable when the source is read-only). */
import React from "react";
import { Box, Text } from "ink";

export const KEYS: [string, string, boolean][] = [
  ["↑ ↓ / k j", "move through events (past the end: the next page)", false],
  ["enter", "inspect the selected event: payload, attempts, last error, history", false],
  ["r", "retry the selected event (back to pending, due now)", true],
  ["R", "retry all failed and dead events", true],
  ["d", "drain now (one pass; answers when it ends)", true],
  ["p", "pause or resume the daemon", true],
  ["/", "filter: failed,dead · status:pending · entity:well · newest · oldest", false],
  ["?", "this help", false],
  ["q", "quit (esc: back from a view)", false],
];

export function Help({ readOnly }: { readOnly: string | undefined }) {
  return (
    <Box flexDirection="column">
      <Text bold>keys (any key returns)</Text>
      {KEYS.map(([key, what, writes]) => (
        <Text key={key} dimColor={writes && readOnly !== undefined}>
          {key.padEnd(10)} {what}
          {writes && readOnly !== undefined ? "  (unavailable here)" : ""}
        </Text>
      ))}
      {readOnly !== undefined ? <Text color="yellow">read-only: {readOnly}</Text> : null}
    </Box>
  );
}
