/** The doctor's most severe findings, each with the command that fixes it. */
import React from "react";
import { Box, Text } from "ink";
import type { FindingsState } from "./model.ts";

const COLOR = { error: "red", warning: "yellow", info: "gray" } as const;

export function FindingsPanel({ findings, rows }: { findings: FindingsState | null; rows: number }) {
  return (
    <Box flexDirection="column">
      <Text bold>TOP FINDINGS</Text>
      {findings === null ? (
        <Text dimColor>doctor: running…</Text>
      ) : findings.error !== undefined ? (
        <Text dimColor wrap="truncate">doctor: {findings.error}</Text>
      ) : findings.findings.length === 0 ? (
        <Text color="green">doctor: nothing found</Text>
      ) : (
        findings.findings.slice(0, rows).map((f, i) => (
          <Box key={`${f.kind}-${i}`} flexDirection="column">
            <Text wrap="truncate">
              <Text color={COLOR[f.severity]}>{f.severity.toUpperCase()}</Text> {f.title}
            </Text>
            <Text dimColor wrap="truncate">
              {"  "}fix: {f.fix}
            </Text>
          </Box>
        ))
      )}
    </Box>
  );
}
