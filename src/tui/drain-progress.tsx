/**
 * Live progress of a drain on a terminal (Ink): a bar of settled / due events with the rate and
 * ETA, and the running counts. Rendered to stderr so stdout keeps only the final summary.
 */
import React from "react";
import { Box, Text, render, type Instance } from "ink";
import type { DrainSummary } from "../core/engine.ts";
import type { RateEstimate } from "../core/rate-meter.ts";
import { rateAndEta } from "./progress-text.ts";

export interface DrainProgressProps {
  total: number;
  summary: DrainSummary;
  label: string;
  /** the rate over the last seconds and the time left (the summary's rate is the run's average) */
  estimate?: RateEstimate;
}

const WIDTH = 30;

export function DrainProgress({ total, summary, label, estimate }: DrainProgressProps) {
  const done = Math.min(summary.settled, Math.max(total, summary.settled));
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * WIDTH);
  const conflicts = summary.conflicts.resubmitted + summary.conflicts.dropped + summary.conflicts.parked;
  return (
    <Box flexDirection="column">
      <Text>
        {label} <Text color="green">{"█".repeat(filled)}</Text>
        <Text dimColor>{"░".repeat(WIDTH - filled)}</Text> {done}/{total} ({Math.round(ratio * 100)}%)
        {rateAndEta(estimate ?? { rate: summary.eventsPerSec, etaMs: null }, "events")}
      </Text>
      <Text dimColor>
        applied {summary.applied} · duplicates {summary.duplicates} · conflicts {conflicts} · retried {summary.retried} ·
        dead {summary.dead} · round trips {summary.roundTrips}
      </Text>
    </Box>
  );
}

/** Mounts the progress view on stderr; returns update / done functions (update may bring a new total). */
export function mountDrainProgress(label: string, initialTotal: number) {
  let instance: Instance | undefined;
  let total = initialTotal;
  return {
    update(summary: DrainSummary, newTotal?: number, estimate?: RateEstimate) {
      if (newTotal !== undefined) total = newTotal;
      const node = <DrainProgress label={label} total={total} summary={summary} {...(estimate ? { estimate } : {})} />;
      if (instance) instance.rerender(node);
      else instance = render(node, { stdout: process.stderr as unknown as NodeJS.WriteStream, patchConsole: false, exitOnCtrlC: false });
    },
    done() {
      instance?.unmount();
      instance?.cleanup();
    },
  };
}
