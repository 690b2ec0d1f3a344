/**
 * The result of `mudsync bench batching`, as `--json` writes it. Other tools read it: its JSON
 * Schema ships as schemas/bench-batching.schema.json (docs/bench-batching.md describes each field);
 * a change here changes that file too.
 */
import type { MachineInfo } from "./machine.ts";
import type { DatabaseInfo } from "./bench-database.ts";
import type { StrategyName } from "./strategies.ts";
import type { WorkloadName } from "./workloads.ts";

export interface FirstDifference {
  entity: string;
  id: string;
  /** where inside the row's data the two first differ, e.g. `[3].id` (empty: the whole row) */
  path: string;
  /** the row's data after naive; null when naive ended without the row */
  expected: unknown;
  /** the row's data after this strategy; null when it ended without the row */
  actual: unknown;
  /** the batch size of the run that ended different */
  batchSize: number;
}

/** The figures of one strategy at one batch size: medians over the repeats. */
export interface StrategyFigures {
  name: StrategyName;
  /** events per batch (naive: 1; copy: null, one COPY per table) */
  batchSize: number | null;
  roundTripsPer1000: number;
  transactionsPer1000: number;
  /** 1 − round trips ÷ naive's round trips (0.99 = 99% fewer); null for naive */
  roundTripReduction: number | null;
  eventsPerSecond: number;
  /** events/s ÷ naive's events/s */
  speedupVsNaive: number;
  /** events/s of every repeat, and (max − min) ÷ median */
  eventsPerSecondRuns: number[];
  spread: number;
  /** from the start of the run (every action is issued at once) to the write that applied it; null for copy */
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  /** CPU time of the mudsync process during the run (with PGlite this includes the database) */
  cpuMs: number;
  /** peak resident memory of the process during the run */
  peakRssMb: number | null;
  /** the final rows equal naive's in every repeat (and, in `strategies`, at every batch size) */
  correct: boolean;
  firstDifference: FirstDifference | null;
  /** server answers other than applied/duplicate (conflicts, rejections), summed over the repeats */
  unexpectedOutcomes: number;
}

export interface BenchBatchingResult {
  machine: MachineInfo;
  database: DatabaseInfo;
  workload: { name: WorkloadName; events: number; clients: number; seed: number; rows: number };
  repeat: number;
  /** the batch size of the batched strategies in `strategies` (the largest one measured) */
  headlineBatchSize: number;
  /** one entry per strategy: naive, copy, and the batched ones at headlineBatchSize */
  strategies: StrategyFigures[];
  /** the batched strategies at every batch size measured */
  batchSizes: { batchSize: number; strategies: StrategyFigures[] }[];
  /** e.g. a spread that says the machine was busy */
  warnings: string[];
  startedAt: string;
  durationMs: number;
}
