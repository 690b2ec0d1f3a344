/**
 * A progress bar for long commands on a terminal (Ink), rendered to stderr so stdout keeps only
 * the command's result: `label ████░░░░ done/total unit (pct%) · rate · ETA`.
 */
import React from "react";
import { Text, render, type Instance } from "ink";
import type { RateEstimate } from "../core/rate-meter.ts";
import { rateAndEta } from "./progress-text.ts";

export interface ProgressState extends Partial<RateEstimate> {
  phase: string;
  done: number;
  total?: number;
  unit: string;
}

const WIDTH = 30;

export function ProgressBar({ phase, done, total, unit, rate = null, etaMs = null }: ProgressState) {
  const tail = rateAndEta({ rate, etaMs }, unit);
  if (!total) {
    return (
      <Text>
        {phase}: {done.toLocaleString("en-US")} {unit}
        {tail}
      </Text>
    );
  }
  const ratio = Math.min(1, done / total);
  const filled = Math.round(ratio * WIDTH);
  return (
    <Text>
      {phase} <Text color="green">{"█".repeat(filled)}</Text>
      <Text dimColor>{"░".repeat(WIDTH - filled)}</Text> {done.toLocaleString("en-US")}/{total.toLocaleString("en-US")} {unit} ({Math.floor(ratio * 100)}%)
      {tail}
    </Text>
  );
}

/** Mounts a bar on `stream`; `update` re-renders, `done` leaves the last state on screen. */
export function mountProgressBar(stream: NodeJS.WriteStream) {
  let instance: Instance | undefined;
  return {
    update(state: ProgressState) {
      const node = <ProgressBar {...state} />;
      if (instance) instance.rerender(node);
      else instance = render(node, { stdout: stream, patchConsole: false, exitOnCtrlC: false });
    },
    done() {
      instance?.unmount();
      instance?.cleanup();
      instance = undefined;
    },
  };
}
