/**
 * What a drain reports: counters of settled events by outcome, round trips, rate and the
 * enqueue→applied latency percentiles (the engine's summary, the daemon's status, `--json`).
 */
import type { EventStatus } from "./event.ts";

export interface DrainSummary {
  /** events settled in this run (every original event counts once per settlement) */
  settled: number;
  applied: number;
  duplicates: number;
  /** events folded into another wire event and recorded as applied with it */
  coalesced: number;
  /** deferred: later edits of a row held back, in the same batch, behind a conflicting earlier edit of their client */
  /** split: coalesced edits whose merged edit conflicted, sent again one by one */
  conflicts: { resubmitted: number; dropped: number; parked: number; deferred: number; split: number };
  rejected: number;
  /** events quarantined because a later edit of their row was already applied */
  superseded: number;
  retried: number;
  dead: number;
  lostLeases: number;
  roundTrips: number;
  wireEvents: number;
  durationMs: number;
  eventsPerSec: number;
  latencyMs: { p50: number | null; p99: number | null };
  /** what is left in the store when the run ended (filled by drain) */
  left?: Record<EventStatus, number>;
}

export function emptySummary(): DrainSummary {
  return {
    settled: 0,
    applied: 0,
    duplicates: 0,
    coalesced: 0,
    conflicts: { resubmitted: 0, dropped: 0, parked: 0, deferred: 0, split: 0 },
    rejected: 0,
    superseded: 0,
    retried: 0,
    dead: 0,
    lostLeases: 0,
    roundTrips: 0,
    wireEvents: 0,
    durationMs: 0,
    eventsPerSec: 0,
    latencyMs: { p50: null, p99: null },
  };
}

/** p50 and p99 of the samples (null when there are none). */
export function percentiles(values: number[]): { p50: number | null; p99: number | null } {
  if (values.length === 0) return { p50: null, p99: null };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}
