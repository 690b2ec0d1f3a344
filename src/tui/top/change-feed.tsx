/** The last row changes the daemon's change feed delivered (newest first). */
import React from "react";
import { Box, Text } from "ink";
import type { TopSnapshot } from "./model.ts";
import { ago } from "./format.ts";

export function ChangeFeed({ changes, at, rows }: { changes: TopSnapshot["changes"]; at: number; rows: number }) {
  return (
    <Box flexDirection="column">
      <Text bold>CHANGE FEED</Text>
      {changes === null ? (
        <Text dimColor>- (only a daemon follows the change feed)</Text>
      ) : changes.length === 0 ? (
        <Text dimColor>no row changes yet</Text>
      ) : (
        changes.slice(0, rows).map((c, i) => (
          <Text key={`${c.at}-${c.entity}-${c.id}-${i}`} wrap="truncate">
            {c.op.padEnd(6)} {c.entity}:{c.id} v{c.version} <Text dimColor>{ago(at - Date.parse(c.at))} ago</Text>
          </Text>
        ))
      )}
    </Box>
  );
}
