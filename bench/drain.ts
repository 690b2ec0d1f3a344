/**
 * `npm run bench -- drain`: `mudsync queue drain` of N queued events into the real
 * server for batch sizes 1/100/1000 × coalescing on/off (events/s, round trips, p50/p99
 * enqueue→applied latency, peak RSS), next to pg-boss doing the same work on the same server:
 * batch insert, then batch fetch + complete. Then the shared Postgres queue store drained by one
 * and by two `mudsync daemon --queue` processes, next to pg-boss at the same size in the same run
 * (wall time and the database's CPU time). Each run gets a fresh database, dropped after.
 */
import { createTestDatabase, realPgAvailable } from "../tests/helpers/pg.ts";
import { dexieDrainPart, limitPart, type LocalDrainParams } from "./drain-local.ts";
import type { PgBossResult } from "./tasks/pgboss.ts";
import type { QueueDaemonsParams, QueueDaemonsResult } from "./tasks/queue-daemons.ts";
import { locateExport } from "./lib/find-export.ts";
import { pgBossOnce } from "./lib/pgboss-once.ts";
import type { BenchReport } from "./lib/report.ts";
import { firstErrorLine, runCli } from "./lib/run-measured.ts";
import { runTask } from "./lib/run-task.ts";
import { medianOf, sizeLabel as k } from "./lib/stats.ts";

export interface DrainBenchParams extends LocalDrainParams {
  /** the Postgres queue store drained by daemons: each rep runs pg-boss, 1 daemon, 2 daemons */
  daemons: { events: number; batchSize: number; reps: number };
}

export function drainParams(quick: boolean): DrainBenchParams {
  return quick
    ? { batchSizes: [1, 100, 1000], events: { 1: 500, 100: 5000, 1000: 5000 }, reps: { 1000: 2 }, daemons: { events: 10_000, batchSize: 1000, reps: 1 } }
    : { batchSizes: [1, 100, 1000], events: { 1: 10_000, 100: 100_000, 1000: 100_000 }, reps: { 1000: 3 }, daemons: { events: 100_000, batchSize: 1000, reps: 3 } };
}

/** The parts `--only` can pick. */
const DRAIN_PARTS = ["dexie", "daemons", "limit"] as const;

export async function runDrainBench(report: BenchReport, quick: boolean, only?: string): Promise<void> {
  if (only !== undefined && !(DRAIN_PARTS as readonly string[]).includes(only)) {
    throw new Error(`--only ${only}: expected one of ${DRAIN_PARTS.join(", ")}`);
  }
  const p = drainParams(quick);
  Object.assign(report.params, p, {
    pgBoss: "insert in chunks of 1000, then fetch({batchSize}) + complete(ids) until empty; schedule and supervise off",
    daemonsRun: "K daemons started paused on an empty queue; events enqueued through the store API; VACUUM ANALYZE of the queue table (pg-boss: of its job table); resume all; timed until nothing is pending, processing or failed",
  });
  if (!(await realPgAvailable())) {
    report.unavailable("drain and pg-boss", "PostgreSQL at 127.0.0.1:5432 does not answer");
    return;
  }
  if (only === undefined || only === "dexie") await dexieDrainPart(report, p);
  if (only === undefined || only === "daemons") await daemonsPart(report, p.daemons);
  // only when asked for: filling and draining the largest local store takes ~6 minutes here
  if (only === "limit") await limitPart(report, quick);
}

/** One run of the Postgres queue store drained by `daemons` daemons, on a fresh migrated database. */
async function daemonsOnce(module: string, n: number, daemons: number, batchSize: number): Promise<QueueDaemonsResult> {
  const database = await createTestDatabase("mudsync_bench_daemons");
  try {
    const migrate = await runCli(["--db", database.url, "db", "migrate"]);
    if (migrate.code !== 0) throw new Error(`db migrate failed (${firstErrorLine(migrate)})`);
    const params: QueueDaemonsParams = { module, dbUrl: database.url, events: n, daemons, batchSize, seed: 77, timeoutMs: Math.max(120_000, n * 3) };
    return (await runTask<QueueDaemonsResult>("queue-daemons", params)).result;
  } finally {
    await database.drop();
  }
}

/** Whether every event was applied exactly once in every run: all completed, one ledger row each, no duplicates. */
function outcomeCheck(rs: QueueDaemonsResult[], n: number): string {
  const wrong = rs.flatMap((r, i) => {
    const completed = r.counts.completed ?? 0;
    const duplicates = r.daemons.reduce((a, d) => a + d.duplicates, 0);
    if (completed === n && r.ledgerRows === n && duplicates === 0) return [];
    return [`rep ${i + 1}: ${completed} completed, ${r.ledgerRows} ledger rows, ${duplicates} duplicates, counts ${JSON.stringify(r.counts)}`];
  });
  return wrong.length ? `OUTCOME MISMATCH (${wrong.join("; ")})` : `every run: all ${n} completed, ${n} applied_events rows, 0 duplicates`;
}

const perThousand = (ms: number | null, n: number) => (ms === null ? null : (ms * 1000) / n);

/**
 * The shared Postgres queue store drained by one and by two daemons at batch 1000, each rep next to
 * pg-boss fetch + complete of the same number of jobs: events/s by wall time, the ratio to pg-boss
 * (median of the reps' paired ratios; target ≥ 2× with two daemons), and server CPU per 1000 events.
 */
async function daemonsPart(report: BenchReport, p: DrainBenchParams["daemons"]): Promise<void> {
  const located = locateExport("src/stores/postgres", "openPostgresQueueStore");
  const help = await runCli(["daemon", "--help"], { timeoutMs: 30_000 });
  const missing = [located.ok ? "" : located.reason, help.code === 0 && help.stdout.includes("--queue") ? "" : `\`mudsync daemon --queue\` has not landed (${firstErrorLine(help)})`].filter(Boolean);
  if (!located.ok || missing.length) {
    report.unavailable("Postgres queue store drained by daemons", missing.join("; "));
    return;
  }
  const n = p.events;
  const COUNTS = [1, 2] as const;
  const boss: PgBossResult[] = [];
  const runs: Record<number, QueueDaemonsResult[]> = { 1: [], 2: [] };
  const ratios: Record<number, number[]> = { 1: [], 2: [] };
  for (let rep = 0; rep < p.reps; rep++) {
    let peer: PgBossResult | undefined;
    try {
      peer = (await pgBossOnce(n, p.batchSize, true)).r;
      boss.push(peer);
    } catch (err) {
      report.unavailable(`pg-boss next to the daemons, rep ${rep + 1}`, (err as Error).message);
    }
    for (const daemons of COUNTS) {
      try {
        const r = await daemonsOnce(located.file, n, daemons, p.batchSize);
        runs[daemons]!.push(r);
        if (peer) ratios[daemons]!.push(r.eventsPerSec / peer.jobsPerSec);
      } catch (err) {
        report.unavailable(`Postgres queue store, ${daemons} daemon(s), rep ${rep + 1}`, (err as Error).message);
      }
    }
  }
  const reps = `median of ${p.reps} rep(s)`;
  const bossRate = medianOf(boss.map((b) => b.jobsPerSec));
  const bossCpu = medianOf(boss.map((b) => perThousand(b.serverCpuMs, n)));
  if (boss.length) {
    report.add({
      id: "daemons.pgboss.jobsPerSec",
      label: `pg-boss ${k(n)} jobs, fetch + complete at batch ${p.batchSize} (peer of the daemons)`,
      value: bossRate,
      unit: "jobs/s",
      note: `${reps}; server CPU ${bossCpu?.toFixed(1) ?? "?"} ms per 1000 jobs; ${boss[0]!.roundTrips} round trips`,
    });
  }
  const rates: Record<number, number | null> = {};
  for (const daemons of COUNTS) {
    const rs = runs[daemons]!;
    if (!rs.length) continue;
    const label = `${daemons} daemon${daemons > 1 ? "s" : ""}`;
    const last = rs.at(-1)!;
    rates[daemons] = medianOf(rs.map((r) => r.eventsPerSec));
    report.add({
      id: `daemons.d${daemons}.eventsPerSec`,
      label: `Postgres queue store, ${k(n)} events, ${label} at batch ${p.batchSize}`,
      value: rates[daemons] ?? null,
      unit: "events/s",
      baselines: [{ label: `pg-boss fetch + complete, batch ${p.batchSize}`, value: bossRate, unit: "jobs/s" }],
      note:
        `${reps}; last rep: settled per daemon ${last.daemons.map((d) => d.settled).join("/")}, round trips ${last.daemons.map((d) => d.roundTrips).join("/")}, ` +
        `daemon CPU ${perThousand(last.daemons.reduce((a, d) => a + d.cpuMs, 0), n)!.toFixed(1)} ms per 1000 events, ` +
        `peak RSS ${last.daemons.map((d) => Math.round(d.peakRssMb ?? 0)).join("/")} MB, enqueued at ${Math.round(last.enqueuePerSec)} events/s; ${outcomeCheck(rs, n)}`,
    });
    report.add({
      id: `daemons.d${daemons}.vsPgBoss`,
      label: `Postgres queue store with ${label} ÷ pg-boss, batch ${p.batchSize}`,
      value: medianOf(ratios[daemons]!),
      unit: "×",
      ...(daemons === 2 ? { target: { op: ">=" as const, value: 2 } } : {}),
      note: `median of the reps' ratios to the pg-boss run just before (${ratios[daemons]!.map((x) => x.toFixed(2)).join(", ") || "no pg-boss run"})`,
    });
    report.add({
      id: `daemons.d${daemons}.serverCpuMsPer1000`,
      label: `server CPU per 1000 events, ${label}`,
      value: medianOf(rs.map((r) => perThousand(r.serverCpuMs, n))),
      unit: "ms",
      baselines: [{ label: "pg-boss, per 1000 jobs", value: bossCpu, unit: "ms" }],
      note: "sum over the database's backends (/proc), during the timed drain only",
    });
  }
  if (rates[1] && rates[2]) {
    report.add({ id: "daemons.scaling", label: "Postgres queue store, 2 daemons ÷ 1 daemon", value: rates[2] / rates[1], unit: "×" });
  }
  await daemonRssPart(report, located.file, p, medianOf(runs[1]!.map((r) => r.daemons[0]?.peakRssMb ?? null)));
}

/** Peak RSS of one daemon draining the Postgres queue, flat in queue size: the 1-daemon run again on a quarter of the events. */
async function daemonRssPart(report: BenchReport, module: string, p: DrainBenchParams["daemons"], big: number | null): Promise<void> {
  if (big === null) return;
  const small = Math.round(p.events / 4);
  try {
    const r = await daemonsOnce(module, small, 1, p.batchSize);
    const rss = r.daemons[0]?.peakRssMb ?? null;
    report.add({
      id: "daemons.d1.rssGrowth4x",
      label: `Postgres queue store, 1 daemon peak RSS, ${k(p.events)} queued ÷ ${k(small)} queued (flat ≈ 1)`,
      value: rss ? big / rss : null,
      unit: "×",
      target: { op: "<=", value: 1.25 },
      note: `${Math.round(big)} MB (median of the ${k(p.events)} runs) vs ${Math.round(rss ?? 0)} MB`,
    });
  } catch (err) {
    report.unavailable("Postgres queue store peak RSS at a smaller queue", (err as Error).message);
  }
}
