/**
 * Daemons task: N events drained from the shared Postgres queue store by K `mudsync daemon --queue`
 * child processes into the same database. The daemons start paused on an empty queue, the events
 * are enqueued through the store API in batches of 1000, the queue table is vacuumed and analyzed,
 * then all daemons are resumed at once and the clock runs until no event is pending, processing or
 * failed. Measures wall time, the database backends' CPU, the daemons' own CPU and peak RSS, and
 * checks the outcome: the queue's final counts and the rows of the sink's applied_events ledger.
 */
import pg from "pg";
import type { DrainSummary } from "../../src/core/engine.ts";
import type { QueueStore } from "../../src/core/ports.ts";
import { startDaemon, type ChildDaemon } from "../../tests/helpers/daemon-process.ts";
import { processCpuMs } from "../lib/backend-cpu.ts";
import { cpuSpentMs, databaseCpu } from "../lib/database-cpu.ts";
import { pendingEvents } from "../lib/events.ts";
import { importExport } from "../lib/find-export.ts";
import { readVmHwmKb } from "../lib/run-measured.ts";
import { now, perSecond } from "../lib/stats.ts";
import { fillQueue } from "../lib/fill-queue.ts";
import { runTaskMain } from "../lib/task-io.ts";

export interface QueueDaemonsParams {
  /** file exporting openPostgresQueueStore */
  module: string;
  /** a migrated database: the queue and the sink share it */
  dbUrl: string;
  events: number;
  daemons: number;
  batchSize: number;
  seed: number;
  /** give up (and fail the task) when the queue is not drained after this long */
  timeoutMs: number;
  /** the daemons' --one-statement mode (default auto: on, as queue and sink share the database; off: leased) */
  oneStatement?: "auto" | "off";
}

export interface DaemonFigures {
  settled: number;
  applied: number;
  duplicates: number;
  coalesced: number;
  dead: number;
  lostLeases: number;
  roundTrips: number;
  /** the daemon process's CPU time during the drain */
  cpuMs: number;
  peakRssMb: number | null;
}

export interface QueueDaemonsResult {
  enqueuePerSec: number;
  wallMs: number;
  eventsPerSec: number;
  /** the database backends' CPU time during the drain (null if /proc is not readable) */
  serverCpuMs: number | null;
  /** the queue's events by status once drained */
  counts: Record<string, number>;
  /** rows in mudsync.applied_events: one per event recorded as applied, never two */
  ledgerRows: number;
  daemons: DaemonFigures[];
}

type OpenPostgresQueueStore = (o: { url: string; owner?: string }) => Promise<QueueStore>;

const POLL_MS = 20;
/**
 * Whether any event is still unfinished: one ordered probe of each claimable status's partial
 * index (as the claim reads them). Not `exists (… status in (…))`, which the planner answers with
 * a sequential scan: mid-drain it walks every settled row before the first unfinished one, several
 * ms of server CPU per poll taken from the daemons being measured (pg-boss's loop polls nothing).
 */
const OPEN = `select (select 1 from mudsync_queue.events where status = 'pending' order by ts, pos limit 1) is not null
    or (select 1 from mudsync_queue.events where status = 'failed' order by ts, pos limit 1) is not null
    or (select 1 from mudsync_queue.events where status = 'processing' order by ts, pos limit 1) is not null as open`;

async function post(d: ChildDaemon, path: string): Promise<void> {
  const res = await fetch(`${d.url}${path}`, { method: "POST" });
  if (!res.ok) throw new Error(`daemon ${d.child.pid}: POST ${path} answered ${res.status}: ${await res.text()}`);
}

async function engineSummary(d: ChildDaemon): Promise<DrainSummary> {
  const res = await fetch(`${d.url}/v1/status`);
  if (!res.ok) throw new Error(`daemon ${d.child.pid}: GET /v1/status answered ${res.status}`);
  return ((await res.json()) as { engine: DrainSummary }).engine;
}

/** SIGTERM, then SIGKILL if it has not exited within 15 s. */
async function stop(d: ChildDaemon): Promise<void> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return;
  d.child.kill("SIGTERM");
  const timer = setTimeout(() => d.child.kill("SIGKILL"), 15_000);
  await d.exited;
  clearTimeout(timer);
}

async function counts(admin: pg.Client): Promise<Record<string, number>> {
  const { rows } = await admin.query<{ status: string; n: string }>("select status, count(*) as n from mudsync_queue.events group by status");
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

async function enqueueAll(p: QueueDaemonsParams): Promise<number> {
  const open = await importExport<OpenPostgresQueueStore>(p.module, "openPostgresQueueStore");
  const store = await open({ url: p.dbUrl, owner: "bench-fill" });
  try {
    return await fillQueue(store, pendingEvents(p.events, p.seed));
  } finally {
    await store.close();
  }
}

async function main(p: QueueDaemonsParams): Promise<QueueDaemonsResult> {
  const admin = new pg.Client({ connectionString: p.dbUrl });
  await admin.connect();
  const daemons: ChildDaemon[] = [];
  try {
    // one at a time: the first creates the queue tables
    for (let i = 0; i < p.daemons; i++) {
      const d = await startDaemon(["--queue", p.dbUrl, "--db", p.dbUrl, "--batch-size", String(p.batchSize), "--one-statement", p.oneStatement ?? "auto"]);
      daemons.push(d);
      await post(d, "/v1/pause");
    }
    const enqueuePerSec = await enqueueAll(p);
    // the queue table only: analyzing the sink's still-empty tables would plan apply_batch for empty tables
    await admin.query("vacuum analyze mudsync_queue.events");
    // as the pg-boss task: the timed part starts right after a checkpoint
    await admin.query("checkpoint");

    const server0 = await databaseCpu(admin);
    const own0 = daemons.map((d) => processCpuMs(d.child.pid!));
    const t0 = now();
    await Promise.all(daemons.map((d) => post(d, "/v1/resume")));
    while ((await admin.query<{ open: boolean }>(OPEN)).rows[0]!.open) {
      if (now() - t0 > p.timeoutMs) throw new Error(`queue not drained after ${Math.round(p.timeoutMs / 1000)} s: ${JSON.stringify(await counts(admin))}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const wallMs = now() - t0;
    const serverCpuMs = cpuSpentMs(server0, await databaseCpu(admin));
    const own = daemons.map((d, i) => processCpuMs(d.child.pid!) - own0[i]!);

    const figures = await Promise.all(
      daemons.map(async (d, i): Promise<DaemonFigures> => {
        const e = await engineSummary(d);
        const kb = readVmHwmKb(d.child.pid!);
        return {
          settled: e.settled,
          applied: e.applied,
          duplicates: e.duplicates,
          coalesced: e.coalesced,
          dead: e.dead,
          lostLeases: e.lostLeases,
          roundTrips: e.roundTrips,
          cpuMs: own[i]!,
          peakRssMb: kb === null ? null : kb / 1024,
        };
      }),
    );
    const ledger = await admin.query<{ n: string }>("select count(*) as n from mudsync.applied_events");
    return {
      enqueuePerSec,
      wallMs,
      eventsPerSec: perSecond(p.events, wallMs),
      serverCpuMs,
      counts: await counts(admin),
      ledgerRows: Number(ledger.rows[0]!.n),
      daemons: figures,
    };
  } finally {
    await Promise.all(daemons.map(stop));
    await admin.end().catch(() => {});
  }
}

runTaskMain(main);
