/**
 * `npm run bench -- drain` (issue 4): `mudsync queue drain` of N queued events into the real
 * server for batch sizes 1/100/1000 × coalescing on/off (events/s, round trips, p50/p99
 * enqueue→applied latency, peak RSS), next to pg-boss doing the same work on the same server:
 * batch insert, then batch fetch + complete. Then the shared Postgres queue store drained by one
 * and by two `mudsync daemon --queue` processes, next to pg-boss at the same size in the same run
 * (wall time and the database's CPU time). Each run gets a fresh database, dropped after.
 */
import path from "node:path";
import pg from "pg";
import { createTestDatabase, realPgAvailable } from "../tests/helpers/pg.ts";
import type { PgBossParams, PgBossResult } from "./tasks/pgboss.ts";
import { cliCommandAvailable } from "./lib/cli-availability.ts";
import type { FillStoreParams } from "./tasks/fill-store.ts";
import type { QueueDaemonsParams, QueueDaemonsResult } from "./tasks/queue-daemons.ts";
import { locateExport } from "./lib/find-export.ts";
import type { BenchReport } from "./lib/report.ts";
import { firstErrorLine, runCli } from "./lib/run-measured.ts";
import { runTask } from "./lib/run-task.ts";
import { median, perSecond, sizeLabel as k } from "./lib/stats.ts";
import { withTempDir } from "./lib/temp-dir.ts";
import { DEFAULT_MAX_EVENTS } from "../src/stores/dexie/store-limits.ts";

export interface DrainBenchParams {
  batchSizes: number[];
  /** events per run at each batch size (batch 1 is two round trips per event for both sides) */
  events: Record<number, number>;
  /** the Postgres queue store drained by daemons: each rep runs pg-boss, 1 daemon, 2 daemons */
  daemons: { events: number; batchSize: number; reps: number };
}

export function drainParams(quick: boolean): DrainBenchParams {
  return quick
    ? { batchSizes: [1, 100, 1000], events: { 1: 500, 100: 5000, 1000: 5000 }, daemons: { events: 10_000, batchSize: 1000, reps: 1 } }
    : { batchSizes: [1, 100, 1000], events: { 1: 10_000, 100: 100_000, 1000: 100_000 }, daemons: { events: 100_000, batchSize: 1000, reps: 3 } };
}

/** Finds a numeric field anywhere in the drain's JSON summary (its exact nesting is the command's). */
function pick(value: unknown, keyPath: string[]): number | null {
  if (value === null || typeof value !== "object") return null;
  let cur: unknown = value;
  for (const key of keyPath) cur = cur && typeof cur === "object" ? (cur as Record<string, unknown>)[key] : undefined;
  if (typeof cur === "number") return cur;
  for (const child of Object.values(value as Record<string, unknown>)) {
    const found = pick(child, keyPath);
    if (found !== null) return found;
  }
  return null;
}

interface DrainRun {
  eventsPerSec: number | null;
  wallEventsPerSec: number;
  roundTrips: number | null;
  p50: number | null;
  p99: number | null;
  peakRssMb: number | null;
  applied: number | null;
  /** events the server reported as already applied, and settles that found their lease gone: 0 in a fresh drain */
  duplicates: number | null;
  lostLeases: number | null;
  /** parts the store was drained in (absent: whole) */
  parts: number | null;
  fillPerSec: number;
}

/** As the pg-boss and daemons tasks do before their timed part: no full-page writes left over from the fill. */
async function checkpoint(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query("checkpoint");
  } finally {
    await c.end();
  }
}

async function drainOnce(storeModule: string, n: number, batchSize: number, coalesce: boolean, extra: string[] = []): Promise<DrainRun> {
  const database = await createTestDatabase("mudsync_bench_drain");
  try {
    return await withTempDir("drain", async (dir) => {
      const store = path.join(dir, "store");
      const migrate = await runCli(["--db", database.url, "db", "migrate"]);
      if (migrate.code !== 0) throw new Error(`db migrate failed (${firstErrorLine(migrate)})`);
      const fill = await runTask<{ perSec: number }>("fill-store", { module: storeModule, dir: store, events: n, seed: 31 } satisfies FillStoreParams);
      const args = ["--store", store, "--db", database.url, "--json", "queue", "drain", "--batch-size", String(batchSize)];
      if (!coalesce) args.push("--no-coalesce");
      args.push(...extra);
      await checkpoint(database.url);
      const run = await runCli(args);
      if (run.code !== 0) throw new Error(`queue drain failed (${firstErrorLine(run)})`);
      let summary: unknown;
      try {
        summary = JSON.parse(run.stdout.trim().split("\n").pop() ?? "");
      } catch {
        throw new Error(`queue drain --json printed no JSON summary: ${run.stdout.slice(0, 200)}`);
      }
      return {
        eventsPerSec: pick(summary, ["eventsPerSec"]),
        wallEventsPerSec: perSecond(n, run.wallMs),
        roundTrips: pick(summary, ["roundTrips"]),
        p50: pick(summary, ["latencyMs", "p50"]),
        p99: pick(summary, ["latencyMs", "p99"]),
        peakRssMb: run.peakRssMb,
        applied: pick(summary, ["applied"]),
        duplicates: pick(summary, ["duplicates"]),
        lostLeases: pick(summary, ["lostLeases"]),
        parts: pick(summary, ["parts", "count"]),
        fillPerSec: fill.result.perSec,
      };
    });
  } finally {
    await database.drop();
  }
}

async function pgBossOnce(n: number, batchSize: number, analyze = false): Promise<{ r: PgBossResult; peakRssMb: number | null }> {
  const database = await createTestDatabase("mudsync_bench_pgboss");
  try {
    const { result, run } = await runTask<PgBossResult>("pgboss", { dbUrl: database.url, events: n, batchSize, analyze } satisfies PgBossParams);
    return { r: result, peakRssMb: run.peakRssMb };
  } finally {
    await database.drop();
  }
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

/**
 * `--only limit`: `queue drain` of a local store as large as it may grow (DEFAULT_MAX_EVENTS), at
 * batch 1000: events/s, peak RSS, and that nothing is applied twice although compaction of so
 * large a store stalls writes for longer than a lease.
 */
async function limitPart(report: BenchReport, quick: boolean): Promise<void> {
  const located = locateExport("src/stores/dexie", "openDexieStore");
  if (!located.ok) {
    report.unavailable("queue drain at the store limit", located.reason);
    return;
  }
  const n = quick ? 50_000 : DEFAULT_MAX_EVENTS;
  try {
    const d = await drainOnce(located.file, n, 1000, true);
    report.add({
      id: "drain.limit.eventsPerSec",
      label: `queue drain of a ${k(n)}-event store (${n === DEFAULT_MAX_EVENTS ? "the local store's limit" : "--quick: a tenth of the limit"}), batch 1000`,
      value: d.eventsPerSec ?? d.wallEventsPerSec,
      unit: "events/s",
      note: `peak RSS ${Math.round(d.peakRssMb ?? 0)} MB; ${Math.round(d.wallEventsPerSec)} events/s over the process's wall time (open included); applied ${d.applied ?? "?"}; drained in ${d.parts ?? 1} part(s)`,
    });
    report.add({
      id: "drain.limit.appliedTwice",
      label: `duplicates + lost leases in that drain (each a second apply of an event)`,
      value: d.duplicates === null || d.lostLeases === null ? null : d.duplicates + d.lostLeases,
      unit: "events",
      target: { op: "<=", value: 0 },
      note: `duplicates ${d.duplicates ?? "?"}, lost leases ${d.lostLeases ?? "?"}`,
    });
  } catch (err) {
    report.unavailable("queue drain at the store limit", (err as Error).message);
  }
}

/** `queue drain` of the local Dexie store at each batch size, next to pg-boss at that size. */
async function dexieDrainPart(report: BenchReport, p: DrainBenchParams): Promise<void> {
  const boss = new Map<number, PgBossResult>();
  for (const size of p.batchSizes) {
    const n = p.events[size] ?? 1000;
    try {
      const { r, peakRssMb } = await pgBossOnce(n, size, true);
      boss.set(size, r);
      report.add({ id: `pgboss.b${size}.jobsPerSec`, label: `pg-boss ${k(n)} jobs, fetch + complete at batch ${size}`, value: r.jobsPerSec, unit: "jobs/s", note: `insert ${Math.round(r.insertPerSec)} jobs/s; ${r.roundTrips} round trips; latency p50 ${Math.round(r.latencyP50Ms)} ms, p99 ${Math.round(r.latencyP99Ms)} ms; peak RSS ${Math.round(peakRssMb ?? 0)} MB` });
    } catch (err) {
      report.unavailable(`pg-boss batch ${size}`, (err as Error).message);
    }
  }

  const missing: string[] = [];
  const located = locateExport("src/stores/dexie", "openDexieStore");
  if (!located.ok) missing.push(located.reason);
  for (const words of [["queue", "drain"], ["db", "migrate"]]) {
    const a = await cliCommandAvailable(words);
    if (!a.ok) missing.push(a.reason);
  }
  if (!located.ok || missing.length) {
    report.unavailable("mudsync queue drain", missing.join("; "));
    return;
  }
  const rss = new Map<number, number>();
  let bigParts: number | null = null;
  for (const size of p.batchSizes) {
    const n = p.events[size] ?? 1000;
    const peer = boss.get(size);
    for (const coalesce of [true, false]) {
      const tag = `b${size}.${coalesce ? "coalesce" : "plain"}`;
      try {
        const d = await drainOnce(located.file, n, size, coalesce);
        const rate = d.eventsPerSec ?? d.wallEventsPerSec;
        report.add({
          id: `drain.${tag}.eventsPerSec`,
          label: `queue drain ${k(n)} events, batch ${size}, coalescing ${coalesce ? "on" : "off"}`,
          value: rate,
          unit: "events/s",
          baselines: [{ label: `pg-boss fetch + complete, batch ${size}`, value: peer?.jobsPerSec ?? null, unit: "jobs/s" }],
          note: `${d.roundTrips ?? "?"} round trips; latency p50 ${d.p50 ?? "?"} ms, p99 ${d.p99 ?? "?"} ms; peak RSS ${Math.round(d.peakRssMb ?? 0)} MB; ${Math.round(d.wallEventsPerSec)} events/s over the process's wall time; applied ${d.applied ?? "?"}; drained in ${d.parts ?? 1} part(s); store filled at ${Math.round(d.fillPerSec)} events/s`,
        });
        report.add({
          id: `drain.${tag}.vsPgBoss`,
          label: `queue drain ÷ pg-boss, batch ${size}, coalescing ${coalesce ? "on" : "off"}`,
          value: peer ? rate / peer.jobsPerSec : null,
          unit: "×",
          target: { op: ">=", value: 1 },
          note: "stretch target 2×",
        });
        if (size === 1000 && coalesce && d.peakRssMb !== null) {
          rss.set(size, d.peakRssMb);
          bigParts = d.parts;
        }
        report.add({ id: `drain.${tag}.peakRssMb`, label: `queue drain peak RSS, batch ${size}, coalescing ${coalesce ? "on" : "off"}`, value: d.peakRssMb, unit: "MB" });
      } catch (err) {
        report.unavailable(`queue drain batch ${size}, coalescing ${coalesce ? "on" : "off"}`, (err as Error).message);
      }
    }
  }
  // RSS flat in queue size: the batch-1000 coalescing run again on a queue a quarter the size
  const big = rss.get(1000);
  const n = p.events[1000] ?? 1000;
  if (big !== undefined) {
    try {
      const small = await drainOnce(located.file, Math.round(n / 4), 1000, true);
      report.add({
        id: "drain.rssGrowth4x",
        label: `queue drain peak RSS, ${k(n)} queued ÷ ${k(Math.round(n / 4))} queued (flat ≈ 1)`,
        value: small.peakRssMb ? big / small.peakRssMb : null,
        unit: "×",
        target: { op: "<=", value: 1.25 },
        note: `${Math.round(big)} MB vs ${Math.round(small.peakRssMb ?? 0)} MB (${bigParts ?? "?"} vs ${small.parts ?? "?"} parts); target read as: 4× the queue adds at most 25% peak memory`,
      });
    } catch (err) {
      report.unavailable("queue drain RSS at a smaller queue", (err as Error).message);
    }
    // the same two sizes with the whole store in memory (--part-size 0), as every drain ran before parts
    try {
      const wholeBig = await drainOnce(located.file, n, 1000, true, ["--part-size", "0"]);
      const wholeSmall = await drainOnce(located.file, Math.round(n / 4), 1000, true, ["--part-size", "0"]);
      report.add({
        id: "drain.whole.rssGrowth4x",
        label: `queue drain --part-size 0 (whole store in memory) peak RSS, ${k(n)} queued ÷ ${k(Math.round(n / 4))} queued`,
        value: wholeSmall.peakRssMb && wholeBig.peakRssMb ? wholeBig.peakRssMb / wholeSmall.peakRssMb : null,
        unit: "×",
        note: `${Math.round(wholeBig.peakRssMb ?? 0)} MB vs ${Math.round(wholeSmall.peakRssMb ?? 0)} MB; ${Math.round(wholeBig.eventsPerSec ?? wholeBig.wallEventsPerSec)} events/s at ${k(n)} (in parts: ${Math.round(big)} MB)`,
      });
    } catch (err) {
      report.unavailable("queue drain --part-size 0", (err as Error).message);
    }
  }
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
const medianOf = (xs: (number | null)[]) => {
  const known = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return known.length ? median(known) : null;
};

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
