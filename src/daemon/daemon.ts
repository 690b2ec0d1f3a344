/**
 * The headless daemon: runs the engine continuously over one queue store and one sink. The loop
 * drains what is due, then sleeps until an enqueue or drain-now wakes it, or for `pollMs` (retry
 * times and expired leases are persisted, so polling finds them). Pause stops claiming after the
 * batch in flight; stop does the same and ends the loop. Around the loop: the queue watch (gauges,
 * stuck head), the change feed (cache invalidation, optimistic confirmation) and one JSON log line
 * per batch and per lifecycle event. It implements DaemonControl for the control API.
 */
import type { Config } from "../config/config.ts";
import { TtlCache } from "../core/cache.ts";
import type { Engine, DrainSummary } from "../core/engine.ts";
import type { QueuedEvent } from "../core/event.ts";
import type { Metrics } from "./prometheus-metrics.ts";
import { OptimisticStateManager } from "../core/optimistic.ts";
import type { CacheStore, ChangeFeed, Clock, ListQuery, QueueStore, Sink, WireEvent } from "../core/ports.ts";
import type { OneStatementBatches } from "../core/one-statement-drain.ts";
import { systemClock } from "../core/ports.ts";
import { createEngine } from "../config/engine-setup.ts";
import type { DaemonActivity, DaemonControl, DaemonStatus, DrainNowResult, EventDetail, EventsPage, Health, RetryResult, RetrySelection } from "./control-api.ts";
import { createDaemonMetrics, type DaemonMetrics } from "./daemon-metrics.ts";
import type { DaemonLogger } from "./logger.ts";
import { observeSink, type BatchReport } from "./observed-sink.ts";
import { observeOneStatement } from "./one-statement-observed.ts";
import { type DaemonImportResult, type ImportRequest, importIntoOpenStore } from "./import-files.ts";
import { QueueWatch, zeroCounts } from "./queue-watch.ts";
import { retryEvents } from "./retry-selection.ts";
import { rowSync } from "./row-sync.ts";
import { Wakeup } from "./wakeup.ts";
import { ActivityLog } from "./activity-log.ts";
import { SinkUnreachableError } from "../errors.ts";
import { backoffDelay, OUTAGE_BACKOFF } from "../core/retry.ts";

export interface DaemonOptions {
  config: Config;
  store: QueueStore & { readonly cache?: CacheStore };
  sink: Sink;
  /** realtime row changes (the pg/PGlite sinks are feeds themselves) */
  feed?: ChangeFeed;
  /** the store's one-statement drain over the sink (queue and sink in one database), see one-statement-choice.ts */
  oneStatement?: OneStatementBatches;
  metrics: Metrics;
  logger: DaemonLogger;
  /** lease owner name */
  owner: string;
  /** the store and control address, for status and health */
  storeLabel: string;
  control: string;
  clock?: Clock;
  /** idle poll for retry times and expired leases (default 500 ms) */
  pollMs?: number;
  /** queue gauges and stuck-head check (default 2000 ms) */
  watchMs?: number;
  /** sink probe timeout for /healthz (default 3000 ms) */
  healthTimeoutMs?: number;
  /** the daemon's series, when the caller registered them already (they register once per registry) */
  daemonMetrics?: DaemonMetrics;
}

/** open conflicts /v1/activity counts at most, and how often it counts them again */
const CONFLICTS_COUNTED = 100;
const CONFLICTS_EVERY_MS = 5000;

type Waiter = { resolve(r: DrainNowResult): void; before: number };

export class Daemon implements DaemonControl {
  private readonly clock: Clock;
  private readonly engine: Engine;
  private readonly browserSink: Sink;
  private readonly dm: DaemonMetrics;
  private readonly watch: QueueWatch;
  private readonly optimistic = new OptimisticStateManager();
  private readonly cache?: TtlCache;
  private readonly wake = new Wakeup();
  private readonly filled = new Wakeup();
  private readonly stopCtl = new AbortController();
  private drainCtl: AbortController | undefined;
  private pass: Promise<void> = Promise.resolve();
  /** drain passes that threw in a row (sets the pause before the next one) */
  private failedPasses = 0;
  private waiters: Waiter[] = [];
  private enqueuedSincePass = 0;
  private paused = false;
  private draining = false;
  private lastBatchAt: number | null = null;
  private readonly startedAt: number;
  private loopDone: Promise<void> | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  /** retrying the change feed's subscription in the background (it failed at start) */
  private feedRetry: Promise<void> | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private readonly activityLog: ActivityLog;
  private conflicts: { at: number; value: { open: number | null; more: boolean } } | undefined;
  private countingConflicts: Promise<void> | undefined;

  constructor(private readonly options: DaemonOptions) {
    this.clock = options.clock ?? systemClock;
    this.startedAt = this.clock.now();
    this.activityLog = new ActivityLog(() => this.clock.now());
    const onStart = (source: string, events: number) => this.activityLog.started(source, events);
    this.dm = options.daemonMetrics ?? createDaemonMetrics(options.metrics);
    if (options.store.cache) this.cache = new TtlCache(options.store.cache, this.clock);
    this.browserSink = observeSink(options.sink, "browser", (r) => this.onBatch(r), onStart);
    this.engine = createEngine({
      config: options.config,
      store: options.store,
      sink: observeSink(options.sink, "drain", (r) => this.onBatch(r), onStart),
      clock: this.clock,
      metrics: options.metrics,
      owner: options.owner,
      ...(options.oneStatement ? { oneStatement: observeOneStatement(options.oneStatement, (r) => this.onBatch(r), onStart) } : {}),
      hooks: {
        onSettled: (event, c) => {
          if (c.status === "completed" && c.outcome !== "conflict") this.optimistic.commit(event.id, c.appliedVersion);
        },
        onOneStatementSettled: (id, c) => {
          if (c.status === "completed") this.optimistic.commit(id, c.appliedVersion);
        },
        onRollback: (event) => void this.optimistic.rollback(event.id),
        onConflict: (audit) => options.logger.info({ event: "conflict", ...audit }, "conflict resolved by strategy"),
      },
    });
    this.watch = new QueueWatch({
      store: options.store,
      metrics: options.metrics,
      logger: options.logger,
      clock: this.clock,
      stuckAfterMs: options.config.stuckAfterMs,
      isPaused: () => this.paused,
    });
  }

  /** Starts the feed, the watch and the loop; resolves once they run. `stopped()` resolves at the end. */
  async start(): Promise<void> {
    await this.subscribeFeed();
    await this.watchTick(true);
    this.watchTimer = setInterval(() => void this.watchTick(), this.options.watchMs ?? 2000);
    this.watchTimer.unref();
    this.loopDone = this.loop();
    this.options.logger.info({ event: "started", owner: this.options.owner, store: this.options.storeLabel, sink: this.options.sink.name }, "daemon running");
  }

  /** Engine counters since the daemon started. */
  snapshot(): DrainSummary {
    return this.engine.snapshot();
  }

  stopped(): Promise<void> {
    return this.loopDone ?? Promise.resolve();
  }

  /** Stops claiming, lets the batch in flight finish and settle, stops the feed and the watch. */
  async stop(): Promise<void> {
    if (!this.stopCtl.signal.aborted) {
      this.options.logger.info({ event: "stopping" }, "stopping after the batch in flight");
      this.stopCtl.abort();
      this.drainCtl?.abort();
      this.wake.notify();
      this.filled.notify();
    }
    await this.stopped();
    if (this.watchTimer) clearInterval(this.watchTimer);
    await this.feedRetry;
    await this.unsubscribe?.().catch(() => undefined);
    this.unsubscribe = undefined;
  }

  /** `--once`: drains what is due now and returns the summary (nothing keeps running). */
  async runOnce(): Promise<DrainSummary> {
    const summary = await this.engine.drain({ wait: false, signal: this.stopCtl.signal });
    await this.watchTick(true);
    return summary;
  }

  // ------------------------------------------------------------------ the loop

  private async loop(): Promise<void> {
    const stop = this.stopCtl.signal;
    while (!stop.aborted) {
      if (this.paused) {
        await this.wake.wait(60_000, stop);
        continue;
      }
      const delay = this.options.config.batchDelayMs;
      if (delay > 0 && this.enqueuedSincePass > 0 && this.enqueuedSincePass < this.options.config.batchSize) {
        await this.filled.wait(delay, stop); // wait up to --batch-delay for a fuller batch
      }
      const covered = this.waiters.splice(0);
      this.pass = this.runPass(covered);
      await this.pass;
      if (!stop.aborted && !this.paused && !this.wake.isPending) await this.wake.wait(this.options.pollMs ?? 500, stop);
      else if (this.wake.isPending) await this.wake.wait(0);
    }
    const left = this.watch.counts;
    for (const w of this.waiters.splice(0)) w.resolve({ settled: 0, left });
  }

  private async runPass(covered: Waiter[]): Promise<void> {
    this.enqueuedSincePass = 0;
    this.drainCtl = new AbortController();
    this.draining = true;
    let left = this.watch.counts;
    try {
      const summary = await this.engine.drain({ wait: false, signal: this.drainCtl.signal });
      left = { ...zeroCounts(), ...summary.left };
      this.failedPasses = 0;
    } catch (err) {
      // capped backoff over consecutive failed passes: an outage is waited out, not hammered
      this.failedPasses += 1;
      const pauseMs = backoffDelay(this.failedPasses, { ...OUTAGE_BACKOFF, baseMs: Math.max(OUTAGE_BACKOFF.baseMs, this.options.pollMs ?? 500) });
      if (err instanceof SinkUnreachableError) {
        this.options.logger.warn({ event: "sink_unreachable", err: errText(err), retryInMs: pauseMs, failedPasses: this.failedPasses }, "server unreachable; claimed events given back unchanged, retrying");
      } else {
        this.options.logger.error({ event: "drain_failed", err: errText(err), retryInMs: pauseMs, failedPasses: this.failedPasses }, "drain pass failed; retrying after a pause");
      }
      await this.clock.sleep(pauseMs, this.stopCtl.signal);
    } finally {
      this.draining = false;
      this.drainCtl = undefined;
    }
    const settled = this.engine.snapshot(false).settled;
    for (const w of covered) w.resolve({ settled: settled - w.before, left });
  }

  private onBatch(r: BatchReport): void {
    if (r.empty) return this.activityLog.cancelled(r.token);
    this.activityLog.ended(r.token, r);
    this.lastBatchAt = this.clock.now();
    const ms = Math.round(r.ms * 10) / 10;
    if (r.error !== undefined) {
      this.options.logger.warn({ event: "batch_failed", source: r.source, events: r.events, ms, err: errText(r.error) }, "batch failed");
      return;
    }
    if (r.source === "browser" && r.outcomes) {
      for (const [outcome, n] of Object.entries(r.outcomes)) if (n > 0) this.dm.browserEvents.inc({ outcome }, n);
    }
    this.options.logger.info({ event: "batch", source: r.source, events: r.events, ms, ...r.outcomes }, "batch applied");
  }

  /** `fresh`: count now (start, --once, status and metrics requests); the periodic tick counts when it is cheap enough */
  private async watchTick(fresh = false): Promise<void> {
    try {
      await this.watch.tick(fresh);
    } catch (err) {
      this.options.logger.warn({ event: "watch_failed", err: errText(err) }, "could not read queue gauges");
    }
  }

  /**
   * Subscribes to the change feed. A daemon started while the server is down (or whose feed is
   * refused) runs without it meanwhile and keeps trying in the background, 1 s, 2 s … 30 s apart.
   */
  private async subscribeFeed(): Promise<void> {
    const feed = this.options.feed;
    if (!feed) {
      this.options.logger.info({ event: "feed", active: false }, "no change feed for this sink");
      return;
    }
    const onChange = rowSync({ cache: this.cache, optimistic: this.optimistic, sink: this.options.sink, logger: this.options.logger });
    const stop = this.stopCtl.signal;
    const attempt = async (retryInMs: number): Promise<boolean> => {
      try {
        const unsubscribe = await feed.subscribe((change) => {
          this.dm.rowChanges.inc();
          this.activityLog.changed(change);
          void onChange(change);
        });
        if (stop.aborted) await unsubscribe().catch(() => undefined);
        else this.unsubscribe = unsubscribe;
        this.options.logger.info({ event: "feed", active: true }, "subscribed to row changes");
        return true;
      } catch (err) {
        this.options.logger.warn({ event: "feed", active: false, err: errText(err), retryInMs }, "change feed unavailable; running without it, retrying");
        return false;
      }
    };
    if (await attempt(backoffDelay(1, OUTAGE_BACKOFF))) return;
    this.feedRetry = (async () => {
      for (let tries = 1; ; tries++) {
        await this.clock.sleep(backoffDelay(tries, OUTAGE_BACKOFF), stop);
        if (stop.aborted || (await attempt(backoffDelay(tries + 1, OUTAGE_BACKOFF)))) return;
      }
    })();
  }

  // ------------------------------------------------------------------ DaemonControl

  async health(): Promise<Health> {
    const base = { paused: this.paused, store: this.options.storeLabel, sink: this.options.sink.name };
    const timeoutMs = this.options.healthTimeoutMs ?? 3000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.options.sink.getRow("well", "__mudsync_healthz__"),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return { ok: true, ...base };
    } catch (err) {
      return { ok: false, ...base, reason: `sink unreachable: ${errText(err)}` };
    } finally {
      clearTimeout(timer);
    }
  }

  async metricsText(): Promise<{ contentType: string; text: string }> {
    await this.watchTick(true);
    return { contentType: this.options.metrics.contentType, text: await this.options.metrics.text() };
  }

  async status(): Promise<DaemonStatus> {
    await this.watchTick(true);
    return this.currentStatus();
  }

  /** The status as of the queue watch's last look (no store read: the counts may be a few seconds old). */
  private currentStatus(): DaemonStatus {
    const now = this.clock.now();
    const head = this.watch.head;
    return {
      pid: process.pid,
      owner: this.options.owner,
      control: this.options.control,
      store: this.options.storeLabel,
      sink: this.options.sink.name,
      paused: this.paused,
      draining: this.draining,
      uptimeMs: now - this.startedAt,
      counts: this.watch.counts,
      engine: this.engine.snapshot(),
      head: head ? { id: head.id, status: head.status, sinceMs: now - head.since, stuck: head.stuck } : null,
      oldestPending: this.watch.oldestPending ? { id: this.watch.oldestPending.id, ageMs: Math.max(0, now - this.watch.oldestPending.timestamp) } : null,
      lastBatchAt: this.lastBatchAt === null ? null : new Date(this.lastBatchAt).toISOString(),
    };
  }

  async pause(): Promise<{ paused: boolean }> {
    if (!this.paused) {
      this.paused = true;
      this.dm.paused.set(1);
      this.drainCtl?.abort();
      this.options.logger.info({ event: "paused" }, "paused: no new claims until resumed");
    }
    await this.pass; // the batch in flight is settled when pause answers
    return { paused: true };
  }

  async resume(): Promise<{ paused: boolean }> {
    if (this.paused) {
      this.paused = false;
      this.dm.paused.set(0);
      this.options.logger.info({ event: "resumed" }, "resumed");
      this.wake.notify();
    }
    return { paused: false };
  }

  drainNow(): Promise<DrainNowResult> {
    if (this.paused || this.stopCtl.signal.aborted) {
      // no pass runs, so nothing refreshed the watch's counts: read them
      return this.options.store.counts().then((counts) => ({ settled: 0, left: { ...zeroCounts(), ...counts }, paused: this.paused }));
    }
    return new Promise((resolve) => {
      this.waiters.push({ resolve, before: this.engine.snapshot(false).settled });
      this.wake.notify();
    });
  }

  async retry(selection: RetrySelection): Promise<RetryResult> {
    const r = await retryEvents(this.options.store, selection, this.clock.now(), (moved) => this.auditReplay(moved, selection.actor ?? "control API"));
    this.options.logger.info({ event: "retry", moved: r.moved, skipped: r.skipped.length }, "events moved back to pending");
    if (r.moved > 0) this.wake.notify();
    return r;
  }

  /** Records a retry in the server's audit log; a server that cannot take it is logged, not fatal. */
  private async auditReplay(events: QueuedEvent[], actor: string): Promise<void> {
    const sink = this.options.sink;
    if (!sink.recordReplays) return;
    try {
      await sink.recordReplays(events.map((e) => ({ id: e.id, entity: e.entity, entityId: e.entityId })), actor, "POST /v1/retry");
    } catch (err) {
      this.options.logger.warn({ event: "replay_not_audited", err: errText(err) }, "retry not recorded in the audit log");
    }
  }

  async enqueue(events: QueuedEvent[]): Promise<{ ids: string[]; existing: string[] }> {
    const r = await this.options.store.enqueue(events);
    this.enqueuedSincePass += r.inserted.length;
    if (this.enqueuedSincePass >= this.options.config.batchSize) this.filled.notify();
    if (r.inserted.length > 0) this.wake.notify();
    return { ids: events.map((e) => e.id), existing: r.existing };
  }

  async list(query: ListQuery): Promise<EventsPage> {
    const [counts, page] = await Promise.all([this.options.store.counts(), this.options.store.list(query)]);
    return { counts: { ...zeroCounts(), ...counts }, events: page.events, next: page.next };
  }

  async event(id: string): Promise<EventDetail | undefined> {
    const event = await this.options.store.get(id);
    if (!event) return undefined;
    return { event, history: await this.options.store.history(id) };
  }

  async activity(): Promise<DaemonActivity> {
    return { ...this.activityLog.snapshot(await this.openConflicts()), status: this.currentStatus() };
  }

  /**
   * Open conflicts, counted up to a limit: the dashboard asks every second and only needs "how many,
   * roughly". The count is read at most every CONFLICTS_EVERY_MS and in the background after the
   * first, so that a request never waits behind the sink's batch in flight (PGlite runs one query
   * at a time).
   */
  private async openConflicts(): Promise<{ open: number | null; more: boolean }> {
    const sink = this.options.sink;
    if (!sink.listConflicts) return { open: null, more: false };
    const count = async () => {
      const open = await sink.listConflicts!({ status: "open", limit: CONFLICTS_COUNTED + 1 }).catch(() => undefined);
      this.conflicts = {
        at: this.clock.now(),
        value: open ? { open: Math.min(open.length, CONFLICTS_COUNTED), more: open.length > CONFLICTS_COUNTED } : { open: null, more: false },
      };
    };
    if (!this.conflicts) await count();
    else if (!this.countingConflicts && this.clock.now() - this.conflicts.at >= CONFLICTS_EVERY_MS) {
      this.countingConflicts = count().finally(() => (this.countingConflicts = undefined));
    }
    return this.conflicts!.value;
  }

  async importFiles(request: ImportRequest): Promise<DaemonImportResult> {
    const r = await importIntoOpenStore(this.options.store, request);
    this.options.logger.info({ event: "import", files: request.files, events: r.events, cache: r.cache, invalid: r.invalid }, "export files imported");
    if (r.events.inserted + r.events.replaced > 0) this.wake.notify();
    return r;
  }

  applyBatch(events: WireEvent[]) {
    return this.browserSink.applyBatch(events);
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
