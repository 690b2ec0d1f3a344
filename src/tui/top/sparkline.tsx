/** The throughput sparkline: events settled per second over the last minute, and the latest rate. */
import React from "react";
import { Text } from "ink";
import { sparkline } from "./throughput.ts";
import { n } from "./format.ts";

export function Sparkline({ rates, width }: { rates: number[]; width: number }) {
  if (rates.length === 0) return <Text dimColor>throughput: measuring…</Text>;
  const latest = rates[rates.length - 1] ?? 0;
  const peak = Math.max(...rates);
  return (
    <Text>
      throughput <Text color="cyan">{sparkline(rates, width)}</Text> {n(latest)} ev/s <Text dimColor>(peak {n(peak)})</Text>
    </Text>
  );
}
