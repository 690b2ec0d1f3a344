/**
 * `mudsync queue drain`: processes everything due until the queue is empty (waiting for retry
 * times only with --wait), with progress, ending with a summary. Exit 0 only if nothing is left
 * pending, processing, failed or dead.
 */
import type { EventStatus } from "../../core/event.ts";
import { setTimeout as sleep } from "node:timers/promises";
import type { DrainSummary, Engine } from "../../core/engine.ts";
import { backoffDelay, OUTAGE_BACKOFF } from "../../core/retry.ts";
import { formatDuration } from "../../core/format-duration.ts";
import { RateMeter, rateFields } from "../../core/rate-meter.ts";
import type { QueueStore, Sink } from "../../core/ports.ts";
import { ExitCode, SinkUnreachableError } from "../../errors.ts";
import type { CommandContext } from "../shared/context.ts";
import { createEngine } from "../../config/engine-setup.ts";
import { openSinkFor } from "../shared/sink-setup.ts";
import { capHeapGrowth } from "../shared/heap-growth.ts";
import { progressWriter, table } from "../shared/output.ts";
import { openDrainStore } from "./open-store.ts";
import { drainThroughDaemon, orThroughDaemon, renderDaemonDrain, type DaemonDrainResult } from "./via-daemon.ts";

export interface DrainOptions {
  wait?: boolean;
  /** give up after this long (ms): stop claiming, finish the batch in flight */
  timeoutMs?: number;
  /** cap the heap's growth past its live data (see heap-growth.ts): less memory, more CPU */
  lowMemory?: boolean;
  /** most events held in memory at once: a larger store is drained in parts (0: all at once) */
  partSize?: number;
}

export interface DrainResult extends DrainSummary {
  sink: string;
  drained: boolean;
  left: Record<EventStatus, number>;
  /** a store drained in parts (--part-size): how many, and how many times one was loaded */
  parts?: { count: number; loads: number };
}

/**
 * Drains the local store; when a running daemon holds it, asks the daemon for a pass instead
 * (via-daemon.ts).
 */
export function queueDrain(opts: DrainOptions, ctx: CommandContext): Promise<DrainResult | DaemonDrainResult> {
  return orThroughDaemon<DrainResult | DaemonDrainResult>(
    ctx,
    async () => drainLocal(await openDrainStore(ctx, opts.partSize), opts, ctx),
    drainThroughDaemon,
    opts.timeoutMs,
  );
}

async function drainLocal(store: DrainableStore & { readonly warnings: readonly string[] }, opts: DrainOptions, ctx: CommandContext): Promise<DrainResult> {
  // what open said is printed already; what the run or the close adds (a failed compaction) is printed at the end
  const printed = store.warnings.length;
  // every settled row is rewritten: keep garbage near the data; in parts, the live heap is one
  // part's, so the extra collections are cheap and memory stays flat in queue size
  if (opts.lowMemory || store.parts !== undefined) capHeapGrowth();
  let sink: Sink | undefined;
  const stop = new AbortController();
  const timer = opts.timeoutMs ? setTimeout(() => stop.abort(new Error("timeout")), opts.timeoutMs) : undefined;
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(130);
    process.stderr.write("mudsync: stopping after the batch in flight (signal again to force)\n");
    stop.abort(new Error("signal"));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    sink = await openSinkFor(ctx);
    return await drainWith(store, sink, ctx, { wait: opts.wait, signal: stop.signal, label: "drain" });
  } finally {
    if (timer) clearTimeout(timer);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await sink?.close();
    await store.close();
    for (const w of store.warnings.slice(printed)) process.stderr.write(`mudsync: warning: ${w}\n`);
  }
}

/** A store a drain runs on; a store opened in parts estimates its counts for progress and says how it went. */
export type DrainableStore = QueueStore & {
  /** events to settle: those open in the parts loaded so far, and an estimate for the others */
  estimatedTotal?(): number;
  readonly parts?: number;
  readonly opened?: number;
};

/** Runs one drain with progress (Ink on a TTY, NDJSON on stderr with --json). Sets the exit code. */
export async function drainWith(
  store: DrainableStore,
  sink: Sink,
  ctx: CommandContext,
  opts: { wait?: boolean; signal?: AbortSignal; label: string },
): Promise<DrainResult> {
  const before = store.estimatedTotal ? undefined : await store.counts();
  const totalNow = () => (before ? before.pending + before.failed + before.processing : store.estimatedTotal!());
  const total = totalNow();
  const ndjson = progressWriter(ctx.json);
  const view = ctx.tty && process.stderr.isTTY ? (await import("../../tui/drain-progress.tsx")).mountDrainProgress(opts.label, total) : undefined;
  let lastEmit = 0;
  const meter = new RateMeter();
  const engine = createEngine({
    config: ctx.config,
    store,
    sink,
    hooks: {
      onProgress(summary) {
        const estimate = meter.sample(summary.settled, totalNow());
        view?.update(summary, totalNow(), estimate);
        const now = Date.now();
        if (ctx.json && now - lastEmit >= 200) {
          lastEmit = now;
          ndjson({ phase: opts.label, done: summary.settled, total: totalNow(), applied: summary.applied, dead: summary.dead, ...rateFields(estimate) });
        }
      },
    },
  });
  try {
    const summary = await drainOrAwaitServer(engine, opts, (note) => {
      if (ctx.json) ndjson({ phase: opts.label, waiting: "server unreachable", ...note });
      else process.stderr.write(`mudsync: ${note.reason}; retrying in ${Math.round(note.retryInMs / 1000)} s\n`);
    });
    const left = summary.left ?? (await store.counts());
    const drained = left.pending + left.processing + left.failed + left.dead === 0;
    if (ctx.json) ndjson({ phase: opts.label, done: summary.settled, total: totalNow(), final: true });
    if (!drained) process.exitCode = ExitCode.NotDrained;
    const parts = store.parts !== undefined ? { parts: { count: store.parts, loads: store.opened ?? 0 } } : {};
    return { ...summary, sink: sink.name, drained, left, ...parts };
  } finally {
    view?.done();
  }
}

/**
 * engine.drain, but an unreachable server (the engine gave the batch in flight back unchanged)
 * ends the run with exit 5, or with `wait` is waited for: the pass is retried with capped
 * backoff until the server answers or the run is stopped (--timeout, a signal).
 */
async function drainOrAwaitServer(
  engine: Engine,
  opts: { wait?: boolean; signal?: AbortSignal },
  waiting: (note: { reason: string; retryInMs: number }) => void,
): Promise<DrainSummary> {
  for (let tries = 1; ; tries++) {
    try {
      return await engine.drain({ wait: opts.wait, signal: opts.signal });
    } catch (err) {
      if (!(err instanceof SinkUnreachableError)) throw err;
      const reason = `${err.message}: server unreachable`;
      if (!opts.wait || opts.signal?.aborted) {
        throw new SinkUnreachableError(
          `${reason}; the batch in flight was given back as it was, no attempt counted (rerun once the server is up, or wait for it with --wait)`,
          err.code,
          { cause: err },
        );
      }
      const delay = backoffDelay(tries, OUTAGE_BACKOFF);
      waiting({ reason, retryInMs: delay });
      const stopped = await sleep(delay, false, { signal: opts.signal }).catch(() => true);
      if (stopped) throw new SinkUnreachableError(`${reason}; still unreachable when the run stopped, no attempt counted`, err.code, { cause: err });
    }
  }
}

export function renderDrain(r: DrainResult | DaemonDrainResult): string {
  if ("via" in r) return renderDaemonDrain(r);
  const c = r.conflicts;
  const rows: [string, string][] = [
    ["sink", r.sink],
    ["settled", String(r.settled)],
    ["applied", `${r.applied}${r.coalesced ? ` (${r.coalesced} coalesced)` : ""}`],
    ["duplicates", String(r.duplicates)],
    ["conflicts", `${c.resubmitted + c.dropped + c.parked} (resubmitted ${c.resubmitted}, dropped ${c.dropped}, parked ${c.parked})${c.deferred ? `; ${c.deferred} later edits deferred behind them` : ""}`],
    ["rejected", String(r.rejected)],
    ["retried", String(r.retried)],
    ["dead", String(r.dead)],
    ["round trips", `${r.roundTrips} (${r.wireEvents} wire events)`],
    ["throughput", `${r.eventsPerSec} events/s over ${formatDuration(r.durationMs)}`],
    ["latency", r.latencyMs.p50 === null ? "-" : `enqueue→applied p50 ${formatDuration(r.latencyMs.p50)}, p99 ${formatDuration(r.latencyMs.p99 ?? 0)}`],
    ...(r.parts ? [["parts", `${r.parts.count} (loaded ${r.parts.loads} times)`] as [string, string]] : []),
    ["left", Object.entries(r.left).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(", ") || "nothing"],
  ];
  const verdict = r.drained ? "queue drained" : "queue NOT drained (exit 3): see `mudsync queue ls --status failed,dead,pending`";
  return `${table(["", ""], rows).split("\n").slice(1).join("\n")}\n${verdict}`;
}
