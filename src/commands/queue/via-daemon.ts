/**
 * `queue drain` and `queue replay` when a running daemon holds the store: instead of failing on
 * the lock, they ask the daemon over its control API. Drain is `POST /v1/drain-now` (the daemon
 * runs a pass and answers with what it settled and what is left); replay chooses its events from
 * the store read-only (readers may open a store a writer holds), moves them back to pending with
 * `POST /v1/retry {ids}` and then asks for a pass. The exit codes are the local commands'.
 */
import type { EventStatus } from "../../core/event.ts";
import { ExitCode, StoreLockedError } from "../../errors.ts";
import type { CommandContext } from "../shared/context.ts";
import { ControlClient, daemonHolding } from "../shared/control-client.ts";
import type { DrainNowResult, RetryResult } from "../../daemon/control-api.ts";

/** What a drain through the daemon reports. */
export interface DaemonDrainResult {
  via: "daemon";
  pid: number;
  control: string;
  /** events the daemon settled in the pass it ran for this request */
  settled: number;
  left: Record<EventStatus, number>;
  drained: boolean;
  /** the daemon is paused (or stopping) and ran no pass */
  paused: boolean;
}

/** How long to wait for the daemon's pass when no --timeout is given. */
const DEFAULT_WAIT_MS = 6 * 3_600_000;

/**
 * Runs `local`; when it fails because a live daemon with a control address holds the store, runs
 * `remote` against that daemon instead (one note on stderr).
 */
export async function orThroughDaemon<T>(
  ctx: CommandContext,
  local: () => Promise<T>,
  remote: (daemon: { pid: number; client: ControlClient }) => Promise<T>,
  timeoutMs?: number,
): Promise<T> {
  try {
    return await local();
  } catch (err) {
    if (!(err instanceof StoreLockedError)) throw err;
    const held = await daemonHolding(ctx.config.store);
    if (!held) throw err;
    process.stderr.write(`mudsync: store ${ctx.config.store} is held by the daemon (pid ${held.pid}); asking it through ${held.client.address}\n`);
    return remote({ pid: held.pid, client: held.client.withTimeout(timeoutMs ?? DEFAULT_WAIT_MS) });
  }
}

/** Asks the daemon for a drain pass; sets exit code 3 unless nothing is left pending, processing, failed or dead. */
export async function drainThroughDaemon(daemon: { pid: number; client: ControlClient }): Promise<DaemonDrainResult> {
  const r = await daemon.client.post<DrainNowResult>("/v1/drain-now");
  const left = r.left;
  const drained = !r.paused && left.pending + left.processing + left.failed + left.dead === 0;
  if (!drained) process.exitCode = ExitCode.NotDrained;
  return { via: "daemon", pid: daemon.pid, control: daemon.client.address, settled: r.settled, left, drained, paused: r.paused === true };
}

/** Moves the chosen events back to pending through the daemon, which audits the replay as `actor`'s. */
export function retryThroughDaemon(daemon: { client: ControlClient }, ids: string[], actor: string): Promise<RetryResult> {
  return daemon.client.post<RetryResult>("/v1/retry", { ids, actor });
}

export function renderDaemonDrain(r: DaemonDrainResult): string {
  const left = Object.entries(r.left).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(", ") || "nothing";
  const head = r.paused
    ? `the daemon (pid ${r.pid}) is paused and ran no pass: resume it (POST ${r.control}/v1/resume)`
    : `drained by the daemon (pid ${r.pid}, ${r.control}): settled ${r.settled}`;
  const verdict = r.drained ? "queue drained" : "queue NOT drained (exit 3): see `mudsync queue ls --status failed,dead,pending`";
  return `${head}\nleft: ${left}\n${verdict}`;
}
