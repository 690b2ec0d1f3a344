/**
 * Runs `bench batching`: every strategy on the same generated actions, each run on a fresh schema,
 * `repeat` times (the strategies interleaved inside each repeat, so a busy spell hits them alike),
 * then medians, spreads and the comparison of every run's final rows with naive's.
 */
import type { ApplyOutcome, WireEvent } from "../core/ports.ts";
import { rowKey } from "../core/event.ts";
import { BenchDatabase, type DatabaseInfo, type FinalRow } from "./bench-database.ts";
import { RoundTripCounter } from "./counted-client.ts";
import { machineInfo } from "./machine.ts";
import { measureWindow, medianAndSpread, quantile, type Window } from "./measure.ts";
import type { BenchBatchingResult, FirstDifference, StrategyFigures } from "./result.ts";
import { BATCHED, runStrategy, type StrategyName } from "./strategies.ts";
import { generateWorkload, type WorkloadName } from "./workloads.ts";
import { firstDifference } from "./compare-rows.ts";

export interface BenchOptions {
  /** postgres://… of the user's server; the embedded PGlite (in memory) when absent */
  db?: string;
  workload: WorkloadName;
  events: number;
  clients: number;
  batchSizes: number[];
  repeat: number;
  seed: number;
  /** as actions are applied: how many of all the runs' actions are done, and what runs */
  onProgress?(done: number, total: number, label: string): void;
}

/** Spread of events/s across repeats above which the result says the machine looks busy. */
export const BUSY_SPREAD = 0.25;

interface RunRecord {
  name: StrategyName;
  batchSize: number | null;
  window: Window;
  roundTrips: number;
  transactions: number;
  outcomes: Record<ApplyOutcome, number>;
  rows: FinalRow[];
}

const emptyOutcomes = (): Record<ApplyOutcome, number> => ({ applied: 0, duplicate: 0, conflict: 0, deferred: 0, rejected: 0 });

/** The setup split into at most `n` calls, each row's events in one call and in order. */
function setupCalls(setup: readonly WireEvent[], n: number): WireEvent[][] {
  const rows = new Map<string, WireEvent[]>();
  for (const e of setup) rows.set(rowKey(e), [...(rows.get(rowKey(e)) ?? []), e]);
  const calls: WireEvent[][] = Array.from({ length: Math.min(n, rows.size) }, () => []);
  [...rows.values()].forEach((events, i) => calls[i % calls.length]!.push(...events));
  return calls;
}

async function runOnce(
  db: BenchDatabase,
  name: StrategyName,
  batchSize: number | null,
  o: { workload: ReturnType<typeof generateWorkload>; reference?: FinalRow[]; onApplied?: (count: number) => void },
): Promise<RunRecord> {
  const counter = new RoundTripCounter();
  const { schema, sink, drop } = await db.freshSchema(counter);
  try {
    // copy writes the final rows whole, the setup rows among them. The setup goes in one call per
    // client at once, so that every connection the clients will use has planned apply_batch
    if (name !== "copy") await Promise.all(setupCalls(o.workload.setup, o.workload.perClient.length).map((part) => sink.applyBatch(part)));
    const outcomes = emptyOutcomes();
    counter.start();
    const window = await measureWindow((probe) =>
      runStrategy(name, {
        workload: o.workload,
        batchSize: batchSize ?? 1,
        sink,
        probe,
        outcomes,
        ...(name === "copy" ? { copy: { db, schema, rows: o.reference ?? [], counter } } : {}),
      }),
      o.onApplied,
    );
    const { roundTrips, transactions } = counter.stop();
    return { name, batchSize, window, roundTrips, transactions, outcomes, rows: await db.finalRows(schema) };
  } finally {
    await drop();
  }
}

export async function runBatchingBench(o: BenchOptions): Promise<BenchBatchingResult> {
  const startedAt = new Date();
  const workload = generateWorkload(o.workload, { events: o.events, clients: o.clients, seed: o.seed });
  const plan: { name: StrategyName; batchSize: number | null }[] = [{ name: "naive", batchSize: 1 }, { name: "copy", batchSize: null }];
  for (const batchSize of o.batchSizes) for (const name of BATCHED) plan.push({ name, batchSize });
  const total = plan.length * o.repeat * o.events;
  const records: RunRecord[][] = [];
  const warnings: string[] = [];
  const db = await BenchDatabase.open(o.db, o.clients + 1);
  const database = db.info;
  try {
    let finished = 0;
    for (let r = 0; r < o.repeat; r++) {
      const runs: RunRecord[] = [];
      let reference: FinalRow[] | undefined;
      for (const step of plan) {
        const label = `${step.name}${step.batchSize && step.name !== "naive" ? ` batch ${step.batchSize}` : ""} (repeat ${r + 1}/${o.repeat})`;
        const before = finished * o.events;
        let applied = 0;
        o.onProgress?.(before, total, label);
        const onApplied = (n: number) => o.onProgress?.(before + Math.min(o.events, (applied += n)), total, label);
        const rec = await runOnce(db, step.name, step.batchSize, { workload, reference, onApplied });
        if (step.name === "naive") reference = rec.rows;
        if (rec.window.appliedMs.length !== o.events) {
          warnings.push(`${step.name}${step.batchSize ? ` at batch ${step.batchSize}` : ""}, repeat ${r + 1}: ${rec.window.appliedMs.length} of ${o.events} actions applied`);
        }
        runs.push(rec);
        o.onProgress?.(++finished * o.events, total, label);
      }
      if (r > 0 && firstDifference(records[0]![0]!.rows, runs[0]!.rows)) warnings.push(`naive ended with different rows in repeat ${r + 1} than in repeat 1: the workload's final state depends on timing`);
      records.push(runs);
    }
  } finally {
    await db.close();
  }
  return summarise(o, { database, rows: workload.rows, records, warnings, startedAt });
}

interface Collected {
  database: DatabaseInfo;
  rows: number;
  records: RunRecord[][];
  warnings: string[];
  startedAt: Date;
}

function summarise(o: BenchOptions, { database, rows, records, warnings, startedAt }: Collected): BenchBatchingResult {
  const per1000 = (n: number) => (n * 1000) / o.events;
  const figures = (name: StrategyName, batchSize: number | null): StrategyFigures => {
    const runs = records.map((rs) => ({ rec: rs.find((x) => x.name === name && x.batchSize === batchSize)!, naive: rs[0]! }));
    const rates = runs.map(({ rec }) => (o.events * 1000) / rec.window.wallMs);
    const rate = medianAndSpread(rates);
    const med = (xs: (number | null)[]) => quantile(xs.filter((x): x is number => x !== null), 0.5);
    const lat = (q: number) => (name === "copy" ? null : med(runs.map(({ rec }) => quantile(rec.window.appliedMs, q))));
    const wrong = runs.find(({ rec, naive }) => firstDifference(naive.rows, rec.rows) !== null);
    const diff = wrong ? firstDifference(wrong.naive.rows, wrong.rec.rows) : null;
    const naiveTrips = med(records.map((rs) => rs[0]!.roundTrips)) ?? 0;
    const trips = med(runs.map(({ rec }) => rec.roundTrips)) ?? 0;
    const naiveRate = medianAndSpread(records.map((rs) => (o.events * 1000) / rs[0]!.window.wallMs)).median;
    return {
      name,
      batchSize,
      roundTripsPer1000: per1000(trips),
      transactionsPer1000: per1000(med(runs.map(({ rec }) => rec.transactions)) ?? 0),
      roundTripReduction: name === "naive" || naiveTrips === 0 ? null : 1 - trips / naiveTrips,
      eventsPerSecond: rate.median,
      speedupVsNaive: rate.median / naiveRate,
      eventsPerSecondRuns: rates,
      spread: rate.spread,
      latencyMs: { p50: lat(0.5), p95: lat(0.95), p99: lat(0.99) },
      cpuMs: med(runs.map(({ rec }) => rec.window.cpuMs)) ?? 0,
      peakRssMb: med(runs.map(({ rec }) => rec.window.peakRssMb)),
      correct: wrong === undefined,
      firstDifference: diff ? { ...diff, batchSize: wrong!.rec.batchSize ?? 0 } : null,
      unexpectedOutcomes: runs.reduce((n, { rec }) => n + rec.outcomes.conflict + rec.outcomes.deferred + rec.outcomes.rejected, 0),
    };
  };
  const batchSizes = o.batchSizes.map((batchSize) => ({ batchSize, strategies: BATCHED.map((name) => figures(name, batchSize)) }));
  const headlineBatchSize = Math.max(...o.batchSizes);
  const strategies = [figures("naive", 1), ...batchSizes.find((b) => b.batchSize === headlineBatchSize)!.strategies, figures("copy", null)];
  // a strategy is correct only if it is correct at every batch size
  for (const s of strategies) {
    const wrongAt = batchSizes.flatMap((b) => b.strategies).find((x) => x.name === s.name && !x.correct);
    if (s.correct && wrongAt) {
      s.correct = false;
      s.firstDifference = wrongAt.firstDifference;
    }
  }
  for (const s of [...strategies.filter((x) => !BATCHED.includes(x.name)), ...batchSizes.flatMap((b) => b.strategies)]) {
    if (o.repeat > 1 && s.spread > BUSY_SPREAD) {
      warnings.push(
        `${s.name}${s.batchSize && s.name !== "naive" ? ` at batch ${s.batchSize}` : ""}: events/s varied by ${Math.round(s.spread * 100)}% across ${o.repeat} repeats; ` +
          "the machine looks busy, so compare figures with care (or run again with more --repeat)",
      );
    }
  }
  return {
    machine: machineInfo(),
    database,
    workload: { name: o.workload, events: o.events, clients: o.clients, seed: o.seed, rows },
    repeat: o.repeat,
    headlineBatchSize,
    strategies,
    batchSizes,
    warnings,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
  };
}
