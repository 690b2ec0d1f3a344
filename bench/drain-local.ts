/**
 * The local store's part of `npm run bench -- drain`: `mudsync queue drain` of N events queued in
 * a fresh Dexie store into the real server, for each batch size × coalescing on/off, next to
 * pg-boss at the same batch size in the same run (reps at the sizes where the two are close:
 * each rep runs pg-boss, then both drains, and the ratio reported is the median of the reps'
 * paired ratios, so one slow run on either side does not decide it); peak RSS flat in queue size;
 * and (`--only limit`) a drain of a store as large as the local store may grow.
 */
import path from "node:path";
import pg from "pg";
import { createTestDatabase } from "../tests/helpers/pg.ts";
import type { PgBossResult } from "./tasks/pgboss.ts";
import { cliCommandAvailable } from "./lib/cli-availability.ts";
import type { FillStoreParams } from "./tasks/fill-store.ts";
import { locateExport } from "./lib/find-export.ts";
import { pgBossOnce } from "./lib/pgboss-once.ts";
import type { BenchReport } from "./lib/report.ts";
import { firstErrorLine, runCli } from "./lib/run-measured.ts";
import { runTask } from "./lib/run-task.ts";
import { medianOf, perSecond, sizeLabel as k } from "./lib/stats.ts";
import { withTempDir } from "./lib/temp-dir.ts";
import { DEFAULT_MAX_EVENTS } from "../src/stores/dexie/store-limits.ts";

export interface LocalDrainParams {
  batchSizes: number[];
  /** events per run at each batch size (batch 1 is two round trips per event for both sides) */
  events: Record<number, number>;
  /** reps at each batch size (absent: 1); each rep is pg-boss, then the drain with coalescing on and off */
  reps: Record<number, number>;
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


/**
 * `--only limit`: `queue drain` of a local store as large as it may grow (DEFAULT_MAX_EVENTS), at
 * batch 1000: events/s, peak RSS, and that nothing is applied twice although compaction of so
 * large a store stalls writes for longer than a lease.
 */
export async function limitPart(report: BenchReport, quick: boolean): Promise<void> {
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

type Mode = "coalesce" | "plain";
const MODES: { mode: Mode; coalesce: boolean; words: string }[] = [
  { mode: "coalesce", coalesce: true, words: "coalescing on" },
  { mode: "plain", coalesce: false, words: "coalescing off" },
];

/** Whether `queue drain` can run here; the reason it cannot. */
async function drainAvailable(): Promise<{ file: string } | { reason: string }> {
  const missing: string[] = [];
  const located = locateExport("src/stores/dexie", "openDexieStore");
  if (!located.ok) missing.push(located.reason);
  for (const words of [["queue", "drain"], ["db", "migrate"]]) {
    const a = await cliCommandAvailable(words);
    if (!a.ok) missing.push(a.reason);
  }
  return located.ok && !missing.length ? { file: located.file } : { reason: missing.join("; ") };
}

/** `queue drain` of the local Dexie store at each batch size, next to pg-boss at that size (paired per rep). */
export async function dexieDrainPart(report: BenchReport, p: LocalDrainParams): Promise<void> {
  const available = await drainAvailable();
  if ("reason" in available) report.unavailable("mudsync queue drain", available.reason);
  let big: DrainRun | undefined;
  for (const size of p.batchSizes) {
    const n = p.events[size] ?? 1000;
    const reps = p.reps[size] ?? 1;
    const boss: { r: PgBossResult; peakRssMb: number | null }[] = [];
    const runs: Record<Mode, DrainRun[]> = { coalesce: [], plain: [] };
    const ratios: Record<Mode, number[]> = { coalesce: [], plain: [] };
    for (let rep = 0; rep < reps; rep++) {
      let peer: PgBossResult | undefined;
      try {
        const b = await pgBossOnce(n, size, true);
        boss.push(b);
        peer = b.r;
      } catch (err) {
        report.unavailable(`pg-boss batch ${size}, rep ${rep + 1}`, (err as Error).message);
      }
      if ("reason" in available) continue;
      for (const { mode, coalesce, words } of MODES) {
        try {
          const d = await drainOnce(available.file, n, size, coalesce);
          runs[mode].push(d);
          if (peer) ratios[mode].push(rateOf(d) / peer.jobsPerSec);
        } catch (err) {
          report.unavailable(`queue drain batch ${size}, ${words}, rep ${rep + 1}`, (err as Error).message);
        }
      }
    }
    const bossRate = medianOf(boss.map((b) => b.r.jobsPerSec));
    if (boss.length) {
      const r = boss.at(-1)!.r;
      report.add({
        id: `pgboss.b${size}.jobsPerSec`,
        label: `pg-boss ${k(n)} jobs, fetch + complete at batch ${size}`,
        value: bossRate,
        unit: "jobs/s",
        note: `${repsLead(reps, boss.map((b) => b.r.jobsPerSec), "jobs/s")}insert ${Math.round(r.insertPerSec)} jobs/s; ${r.roundTrips} round trips; latency p50 ${Math.round(r.latencyP50Ms)} ms, p99 ${Math.round(r.latencyP99Ms)} ms; peak RSS ${Math.round(boss.at(-1)!.peakRssMb ?? 0)} MB`,
      });
    }
    for (const { mode, words } of MODES) {
      const rs = runs[mode];
      if (!rs.length) continue;
      const d = rs.at(-1)!;
      const tag = `b${size}.${mode}`;
      report.add({
        id: `drain.${tag}.eventsPerSec`,
        label: `queue drain ${k(n)} events, batch ${size}, ${words}`,
        value: medianOf(rs.map(rateOf)),
        unit: "events/s",
        baselines: [{ label: `pg-boss fetch + complete, batch ${size}`, value: bossRate, unit: "jobs/s" }],
        note:
          repsLead(reps, rs.map(rateOf), "events/s") +
          `${d.roundTrips ?? "?"} round trips; latency p50 ${d.p50 ?? "?"} ms, p99 ${d.p99 ?? "?"} ms; peak RSS ${Math.round(d.peakRssMb ?? 0)} MB; ${Math.round(d.wallEventsPerSec)} events/s over the process's wall time; applied ${d.applied ?? "?"}; drained in ${d.parts ?? 1} part(s); store filled at ${Math.round(d.fillPerSec)} events/s`,
      });
      report.add({
        id: `drain.${tag}.vsPgBoss`,
        label: `queue drain ÷ pg-boss, batch ${size}, ${words}`,
        value: medianOf(ratios[mode]),
        unit: "×",
        target: { op: ">=", value: 1 },
        note: `${reps > 1 ? `median of the reps' ratios to the pg-boss run just before (${ratios[mode].map((x) => x.toFixed(2)).join(", ")}); ` : ""}stretch target 2×`,
      });
      const rss = medianOf(rs.map((x) => x.peakRssMb));
      report.add({ id: `drain.${tag}.peakRssMb`, label: `queue drain peak RSS, batch ${size}, ${words}`, value: rss, unit: "MB", ...(reps > 1 ? { note: "median of the reps" } : {}) });
      if (size === 1000 && mode === "coalesce" && rss !== null) big = { ...d, peakRssMb: rss };
    }
  }
  if (big && !("reason" in available)) await rssPart(report, available.file, p.events[1000] ?? 1000, big);
}

const rateOf = (d: DrainRun): number => d.eventsPerSec ?? d.wallEventsPerSec;

/** How a figure's note opens when it is the median of reps: each rep's rate, then the last rep's details. */
const repsLead = (reps: number, rates: number[], unit: string): string =>
  reps > 1 ? `median of ${reps} reps; reps ${rates.map((x) => Math.round(x)).join(", ")} ${unit}; last rep: ` : "";

/** RSS flat in queue size: the batch-1000 coalescing drain again on a queue a quarter the size, in parts and whole. */
async function rssPart(report: BenchReport, file: string, n: number, big: DrainRun): Promise<void> {
  const bigRss = big.peakRssMb!;
  try {
    const small = await drainOnce(file, Math.round(n / 4), 1000, true);
    report.add({
      id: "drain.rssGrowth4x",
      label: `queue drain peak RSS, ${k(n)} queued ÷ ${k(Math.round(n / 4))} queued (flat ≈ 1)`,
      value: small.peakRssMb ? bigRss / small.peakRssMb : null,
      unit: "×",
      target: { op: "<=", value: 1.25 },
      note: `${Math.round(bigRss)} MB vs ${Math.round(small.peakRssMb ?? 0)} MB (${big.parts ?? 1} vs ${small.parts ?? 1} parts); target read as: 4× the queue adds at most 25% peak memory`,
    });
  } catch (err) {
    report.unavailable("queue drain RSS at a smaller queue", (err as Error).message);
  }
  // the same two sizes with the whole store in memory (--part-size 0), as every drain ran before parts
  try {
    const wholeBig = await drainOnce(file, n, 1000, true, ["--part-size", "0"]);
    const wholeSmall = await drainOnce(file, Math.round(n / 4), 1000, true, ["--part-size", "0"]);
    report.add({
      id: "drain.whole.rssGrowth4x",
      label: `queue drain --part-size 0 (whole store in memory) peak RSS, ${k(n)} queued ÷ ${k(Math.round(n / 4))} queued`,
      value: wholeSmall.peakRssMb && wholeBig.peakRssMb ? wholeBig.peakRssMb / wholeSmall.peakRssMb : null,
      unit: "×",
      note: `${Math.round(wholeBig.peakRssMb ?? 0)} MB vs ${Math.round(wholeSmall.peakRssMb ?? 0)} MB; ${Math.round(rateOf(wholeBig))} events/s at ${k(n)} (in parts: ${Math.round(bigRss)} MB)`,
    });
  } catch (err) {
    report.unavailable("queue drain --part-size 0", (err as Error).message);
  }
}
