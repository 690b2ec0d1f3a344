/**
 * Runs one scenario: opens the run's server and one SimClient per simulated client, schedules the
 * generator's actions, the timeline and the faults on virtual time, drains clients as a real app
 * would (soon after an edit, on reconnect, and again while events wait), then lets every client
 * reconnect and drain, records each client's final view and the server's final state, and hands
 * the history to the checker as it is written.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ConflictStrategy } from "../../core/conflict.ts";
import { percentiles } from "../../core/drain-summary.ts";
import { prng } from "../seeded-random.ts";
import type { Scenario } from "../scenario/resolve-scenario.ts";
import { createChecker } from "../checker/create-checker.ts";
import type { Verdict } from "../checker/verdict.ts";
import type { HistoryRecord } from "../history/history-records.ts";
import { HISTORY_FORMAT } from "../history/history-records.ts";
import { FeedHub } from "./feed-hub.ts";
import { DaemonPool } from "./daemon-pool.ts";
import { installFault, type InstalledFault } from "./faults.ts";
import { HistoryWriter } from "./history-writer.ts";
import { Scheduler } from "./scheduler.ts";
import { openSimDatabase, type SimDatabase } from "./sim-database.ts";
import { SimClient, type ClientVariant } from "./sim-client.ts";
import type { SinkLayer } from "./client-sink.ts";
import { VirtualClock, skewedClock } from "./virtual-clock.ts";
import { ActionStream, workloadRows } from "./workload.ts";
import { readFinalState } from "./final-state.ts";
import type { SqlQueryable } from "../../postgres/sql-client.ts";
import { SERVER_FAULT_KINDS } from "../scenario/scenario-schema.ts";
import { InterruptedError, UsageError } from "../../errors.ts";

export interface RunOptions {
  /** write the history here as NDJSON */
  historyFile?: string;
  /** leave the run directory (client stores, PGlite) and the server schema in place */
  keep?: boolean;
  /** where the run's files go (default: a new temporary directory) */
  runDir?: string;
  /** schema on a real server (default mudsync_sim) */
  schema?: string;
  onProgress?(p: RunProgress): void;
  /** stops the run at the next task: it cleans up and throws InterruptedError */
  signal?: AbortSignal;
  /** deliberately broken behaviour, for tests that show the checker catches it */
  variant?: { client?: ClientVariant; sinkLayer?: SinkLayer; afterMigrate?(db: SqlQueryable, schema: string): Promise<void> };
}

export interface RunProgress {
  stage: "run" | "settle" | "check";
  vt: number;
  endVt: number;
  actions: number;
  totalActions: number;
  online: number;
}

export interface RunResult {
  scenario: string;
  seed: number;
  clients: number;
  sink: string;
  verdict: Verdict;
  expected: "pass" | "fail";
  asExpected: boolean;
  events: { acked: number; refused: number; settled: number; batches: number };
  faults: Record<string, number>;
  wallMs: number;
  virtualMs: number;
  eventsPerWallSec: number;
  eventsPerVirtualSec: number;
  /** enqueue → applied, in virtual and in wall time */
  latencyMs: { virtual: ReturnType<typeof percentiles>; wall: ReturnType<typeof percentiles> };
  peakRssMb: number;
  /** the feed did not announce a drain's writes within 5 s of wall time this many times */
  lateFeed: number;
  kept?: { runDir: string; schema: string; where: string; sink: "pglite" | "postgres" };
  /** the daemons that drained the shared queue (their batches are not counted in events.batches) */
  daemons?: { count: number; kills: number };
}

/** Refuses a scenario whose faults need a real server when it would run on PGlite. */
export function checkSinkForFaults(scenario: Scenario): void {
  const serverFault = scenario.faults.find((f) => SERVER_FAULT_KINDS.has(f.kind));
  if (serverFault && scenario.sink.kind === "pglite") {
    throw new UsageError(`${scenario.name}: fault ${serverFault.kind} acts on a real server's connections; run it with --sink postgres://…`);
  }
  if (scenario.faults.some((f) => f.kind === "restart-server") && scenario.sink.kind !== "pglite") {
    throw new UsageError(`${scenario.name}: restart-server restarts only a server the run owns (the embedded PGlite); run it without --sink`);
  }
  if (scenario.daemons && scenario.sink.kind === "pglite") {
    throw new UsageError(`${scenario.name}: daemons drain a shared queue on a real server (the embedded PGlite lives in one process); run it with --sink postgres://…`);
  }
}

export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<RunResult> {
  const startedWall = performance.now();
  checkSinkForFaults(scenario);
  const runDir = options.runDir ?? mkdtempSync(path.join(ramDisk(scenario.clients.store), "mudsync-sim-"));
  mkdirSync(runDir, { recursive: true });
  const clock = new VirtualClock();
  const scheduler = new Scheduler(clock);
  const checker = createChecker();
  const latency = new LatencyTracker();
  const counts = { acked: 0, refused: 0, settled: 0 };
  const history = new HistoryWriter(() => clock.elapsed(), [(r) => checker.add(r), (r) => latency.see(r, counts)], options.historyFile);
  let peakRss = process.memoryUsage().rss;
  const proxy = scenario.sink.kind === "postgres" && scenario.faults.some((f) => f.kind === "network" || f.kind === "applied-but-errored");
  const clients: SimClient[] = [];
  const installed: InstalledFault[] = [];
  const feed = new FeedHub();
  let done = false;
  let db: SimDatabase | undefined;
  let pool: DaemonPool | undefined;
  const stop = () => scheduler.stop();
  options.signal?.addEventListener("abort", stop);
  const interrupted = () => {
    if (options.signal?.aborted) throw new InterruptedError(`${scenario.name}: interrupted at ${Math.round(clock.elapsed() / 1000)} s of virtual time; nothing was checked`);
  };
  try {
    interrupted();
    db = await openSimDatabase(scenario.sink, runDir, { ...(options.schema ? { schema: options.schema } : {}), proxy, sharedQueue: scenario.daemons !== undefined });
    const shared = db.queue;
    if (options.variant?.afterMigrate) await options.variant.afterMigrate(db.sink.client, db.schema);
    await feed.start(db.feed);
    const strategyFor = (entity: string): ConflictStrategy => scenario.strategies.byEntity[entity] ?? scenario.strategies.default;
    const ids = Array.from({ length: scenario.clients.count }, (_, i) => `c${String(i + 1).padStart(2, "0")}`);
    history.write({
      type: "header", scenario: scenario.name, seed: scenario.seed, clients: ids,
      strategies: { "*": scenario.strategies.default, ...scenario.strategies.byEntity }, epoch: clock.epoch, format: HISTORY_FORMAT,
    });
    const skew = new Map<number, number>();
    for (const f of scenario.faults) if (f.kind === "clock-skew") for (const i of f.clients) skew.set(i, f.skewMs);
    for (const [i, id] of ids.entries()) {
      interrupted();
      const client = await SimClient.open({
        id, dir: path.join(runDir, "clients", id), clock: skewedClock(clock, skew.get(i) ?? 0), sink: db.sink, history,
        seed: scenario.seed + i, cacheTtlMs: scenario.cacheTtlMs, engine: scenario.engine, strategyFor, variant: options.variant?.client,
        ...(shared ? { sharedQueue: shared.store } : {}),
      });
      if (options.variant?.sinkLayer) client.sink.use(options.variant.sinkLayer);
      clients.push(client);
    }

    // drains: soon after an edit, on reconnect, and again while events wait (backing off when idle)
    const drainEvery = scenario.workload.drainEveryMs;
    const due = new Map<SimClient, number>();
    const idle = new Map<SimClient, number>();
    const requestDrain = (c: SimClient, delay = drainEvery) => {
      if (!c.online || shared) return; // with daemons, they drain
      const at = clock.elapsed() + delay;
      const current = due.get(c);
      if (current !== undefined && current <= at) return;
      due.set(c, at);
      scheduler.at(at, () => runDrain(c, at));
    };
    const runDrain = async (c: SimClient, at: number) => {
      if (due.get(c) !== at) return; // superseded by an earlier request
      due.delete(c);
      if (!c.online) return;
      const report = await c.drain();
      await feed.settle(report.written);
      for (const change of feed.take()) for (const other of clients) if (other.online) await other.changed(change);
      if ((await c.unsettled()) === 0) {
        idle.delete(c);
        return;
      }
      const wait = report.settled > 0 ? drainEvery : Math.min(60_000, Math.max(drainEvery, (idle.get(c) ?? drainEvery) * 2));
      idle.set(c, wait);
      requestDrain(c, wait);
    };
    const setOnline = async (c: SimClient, online: boolean) => {
      await c.setOnline(online);
      if (online) requestDrain(c, 0);
    };

    const faultRandom = prng(scenario.seed ^ 0x5bd1e995);
    for (const spec of scenario.faults) {
      const restartServer = async () => {
        const opened = db!;
        await feed.stop();
        await opened.restart!();
        for (const c of clients) c.sink.rebase(opened.sink);
        await feed.start(opened.feed);
      };
      installed.push(installFault(spec, {
        clients, scheduler, history, random: faultRandom, requestDrain: (c) => requestDrain(c), setOnline,
        ...(db.server ? { server: db.server } : {}),
        ...(db.restart ? { restartServer } : {}),
      }));
    }
    for (const [i, c] of clients.entries()) {
      for (const phase of scenario.timeline[i] ?? []) {
        if (phase.state === "offline") {
          scheduler.at(phase.fromMs, () => setOnline(c, false));
          scheduler.at(phase.toMs, () => setOnline(c, true));
        }
      }
    }
    const streams = clients.map((_, i) => new ActionStream(scenario, i));
    const totalActions = streams.reduce((s, x) => s + x.total, 0);
    const actionsDone = () => streams.reduce((s, x) => s + x.done, 0);
    const scheduleNext = (c: SimClient, stream: ActionStream) => {
      const a = stream.next();
      if (!a) return;
      scheduler.at(a.at, async () => {
        // with daemons writing meanwhile, the feed's changes reach the clients as they come
        if (shared) for (const change of feed.take()) for (const other of clients) if (other.online) await other.changed(change);
        await c.act(a);
        if (a.kind !== "read") requestDrain(c);
        scheduleNext(c, stream);
      });
    };
    clients.forEach((c, i) => scheduleNext(c, streams[i]!));

    let lastReport = 0;
    const progress = (stage: RunProgress["stage"]) => {
      const now = performance.now();
      if (stage === "run" && now - lastReport < 200) return;
      lastReport = now;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      options.onProgress?.({ stage, vt: clock.elapsed(), endVt: scenario.endMs, actions: actionsDone(), totalActions, online: clients.filter((c) => c.online).length });
    };
    if (shared && scenario.daemons) {
      pool = new DaemonPool({
        count: scenario.daemons.count,
        url: shared.url,
        serializable: scenario.daemons.serializable,
        runDir,
        random: prng(scenario.seed ^ 0x27d4eb2d),
        onKill: (detail) => history.write({ type: "fault", kind: "kill-daemon", client: null, detail }),
        config: {
          schema: db.schema, queueSchema: shared.schema, leaseMs: scenario.daemons.leaseMs, batchSize: scenario.engine.batchSize,
          coalesce: scenario.engine.coalesce, maxAttempts: scenario.engine.maxAttempts, strategy: scenario.strategies.default,
          strategies: scenario.strategies.byEntity, logLevel: "warn",
        },
      });
      pool.start();
      for (const f of scenario.faults) if (f.kind === "kill-daemon") pool.schedule(f);
    }
    let tasks = 0;
    await scheduler.run(scenario.endMs, () => {
      if (++tasks % 64 === 0) {
        progress("run");
        void history.pace();
      }
    }, true);
    interrupted();

    if (pool && shared) {
      // the daemons drain in wall time, killed on schedule; then each client hears its events' fates
      progress("settle");
      await pool.drained(shared.store, 10 * 60_000);
      interrupted();
      await pool.stop();
      const byId = new Map(clients.map((c) => [c.id, c]));
      for await (const page of shared.store.scan(1000)) for (const e of page) if (e.clientId) byId.get(e.clientId)?.settledRemotely(e);
      for (const change of feed.take()) for (const c of clients) if (c.online) await c.changed(change);
    }

    // everyone back online; drain until nothing is left to settle (bounded in virtual time)
    progress("settle");
    for (const c of clients) await setOnline(c, true);
    for (const c of clients) requestDrain(c, 0);
    await scheduler.run(scenario.endMs + 24 * 3_600_000, () => void (++tasks % 64 === 0 && progress("settle")));
    scheduler.stop();
    interrupted();

    progress("check");
    const rows = workloadRows(scenario);
    for (const c of clients) for (const r of rows) await c.read(r.entity, r.id, true);
    await readFinalState(db.admin(), db.schema, (r) => history.write(r));
    const batches = clients.reduce((s, c) => s + c.sink.batches, 0);
    history.write({ type: "end", vt: clock.elapsed(), wt: history.wall(), events: counts.acked, faults: { ...history.faults }, batches } as never);
    await history.close();
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    done = true;

    const verdict = checker.verdict();
    const wallMs = Math.round(performance.now() - startedWall);
    const virtualMs = clock.elapsed();
    return {
      scenario: scenario.name,
      seed: scenario.seed,
      clients: clients.length,
      sink: db.where,
      verdict,
      expected: scenario.expect,
      asExpected: verdict.pass === (scenario.expect === "pass"),
      events: { ...counts, batches },
      faults: { ...history.faults },
      wallMs,
      virtualMs,
      eventsPerWallSec: wallMs > 0 ? Math.round((counts.acked * 1000) / wallMs) : 0,
      eventsPerVirtualSec: virtualMs > 0 ? Math.round(((counts.acked * 1000) / virtualMs) * 100) / 100 : 0,
      latencyMs: latency.result(),
      peakRssMb: Math.round(peakRss / 1048576),
      lateFeed: feed.late,
      ...(pool && scenario.daemons ? { daemons: { count: scenario.daemons.count, kills: pool.kills } } : {}),
      ...(options.keep ? { kept: { runDir, schema: db.schema, where: db.where, sink: scenario.sink.kind } } : {}),
    };
  } finally {
    options.signal?.removeEventListener("abort", stop);
    scheduler.stop();
    await pool?.stop().catch(() => undefined);
    if (!done) await history.close().catch(() => undefined);
    await feed.stop().catch(() => undefined);
    for (const f of installed) await f.close?.().catch(() => undefined);
    for (const c of clients) await c.close().catch(() => undefined);
    await db?.close(options.keep === true);
    if (!options.keep && !options.runDir) rmSync(runDir, { recursive: true, force: true });
  }
}

/** A directory on a RAM disk when the scenario keeps its stores in memory and the system has one. */
function ramDisk(store: "memory" | "disk"): string {
  if (store === "memory" && process.platform === "linux") {
    try {
      const shm = "/dev/shm";
      mkdirSync(shm, { recursive: true });
      return shm;
    } catch {
      // no RAM disk: the temporary directory
    }
  }
  return os.tmpdir();
}

/** Enqueue → applied latency from the history as it is written (virtual and wall). */
class LatencyTracker {
  private readonly written = new Map<string, { vt: number; wt: number }>();
  private readonly virtual: number[] = [];
  private readonly wall: number[] = [];

  see(r: HistoryRecord, counts: { acked: number; refused: number; settled: number }): void {
    if (r.type === "write") {
      if (r.outcome === "acked") {
        counts.acked += 1;
        this.written.set(r.event, { vt: r.vt, wt: r.wt });
      } else counts.refused += 1;
    } else if (r.type === "settle") {
      counts.settled += 1;
      if (r.status !== "completed" && r.status !== "dead") return;
      const w = this.written.get(r.event);
      if (!w) return;
      this.written.delete(r.event);
      if (r.outcome === "applied" || r.outcome === "coalesced") {
        this.virtual.push(r.vt - w.vt);
        this.wall.push(r.wt - w.wt);
      }
    }
  }

  result() {
    return { virtual: percentiles(this.virtual), wall: percentiles(this.wall) };
  }
}
