/**
 * `mudsync queue replay`: moves chosen events (by status, ids, entity) back to pending with their
 * attempts reset, then drains. With --dry-run nothing changes anywhere: the same drain runs inside
 * a server transaction that is rolled back (replay-dry-run.ts), and each event's outcome and each
 * changed field of each row are shown.
 * Server-side idempotency makes replaying events that were already applied harmless (duplicate).
 * A replay is recorded in the server's audit log with who asked (--actor, default $USER) before
 * the drain, so `audit ls` shows it next to what the drain then decided.
 */
import { EVENT_STATUSES, type EventStatus, type QueuedEvent } from "../../core/event.ts";
import type { EventChange, Sink } from "../../core/ports.ts";
import { requeueChange, undoRequeueChange } from "../../core/requeue.ts";
import { EventNotFoundError, SinkSetupError, SinkUnreachableError, UsageError } from "../../errors.ts";
import type { CommandContext } from "../shared/context.ts";
import { openSinkFor } from "../shared/sink-setup.ts";
import { renderReplayDryRun, replayDryRun, type ReplayDryRun } from "./replay-dry-run.ts";
import { openQueueStore, type LocalQueueStore } from "./open-store.ts";
import { drainWith, renderDrain, type DrainResult } from "./drain.ts";
import { drainThroughDaemon, orThroughDaemon, retryThroughDaemon, type DaemonDrainResult } from "./via-daemon.ts";
import type { ControlClient } from "../shared/control-client.ts";
import type { RetryResult } from "../../daemon/control-api.ts";
import { MAX_RETRY } from "../../daemon/retry-selection.ts";

export interface ReplayOptions {
  statuses?: EventStatus[];
  ids?: string[];
  entity?: string;
  dryRun?: boolean;
  wait?: boolean;
  /** who replays, for the audit log (default $USER) */
  actor?: string;
}

export type ReplayResult =
  | ReplayDryRun
  | { dryRun: false; chosen: number; requeued: number; drain: DrainResult | DaemonDrainResult; skipped?: RetryResult["skipped"] };

const DEFAULT_STATUSES: EventStatus[] = ["failed", "dead"];
const NOTHING_CHOSEN = "replay: no events match the given --status/--ids/--entity";
const PAGE = 1000;

/**
 * Replays from the local store; when a running daemon holds it, the events are chosen read-only
 * and the daemon requeues and drains them (a dry run only reads, so it runs here either way).
 */
export function queueReplay(opts: ReplayOptions, ctx: CommandContext): Promise<ReplayResult> {
  if (opts.dryRun) return replayLocal(opts, ctx);
  return orThroughDaemon(ctx, () => replayLocal(opts, ctx), (daemon) => replayThroughDaemon(opts, ctx, daemon));
}

async function replayThroughDaemon(opts: ReplayOptions, ctx: CommandContext, daemon: { pid: number; client: ControlClient }): Promise<ReplayResult> {
  const store = await openQueueStore(ctx, "read", "queue replay");
  let ids: string[];
  try {
    ids = (await choose(store, opts)).map((e) => e.id);
  } finally {
    await store.close();
  }
  if (ids.length === 0) throw new UsageError(NOTHING_CHOSEN);
  let requeued = 0;
  const skipped: RetryResult["skipped"] = [];
  for (let i = 0; i < ids.length; i += MAX_RETRY) {
    const r = await retryThroughDaemon(daemon, ids.slice(i, i + MAX_RETRY), actorOf(opts));
    requeued += r.moved;
    skipped.push(...r.skipped);
  }
  return { dryRun: false, chosen: ids.length, requeued, skipped, drain: await drainThroughDaemon(daemon) };
}

async function replayLocal(opts: ReplayOptions, ctx: CommandContext): Promise<ReplayResult> {
  const store = await openQueueStore(ctx, opts.dryRun ? "read" : "write", "queue replay");
  try {
    const chosen = await choose(store, opts);
    if (chosen.length === 0) throw new UsageError(NOTHING_CHOSEN);
    const sink = await openSinkFor(ctx);
    try {
      if (opts.dryRun) return await replayDryRun(store, sink, chosen, ctx);
      const now = Date.now();
      const changes: EventChange[] = chosen.map((e) => requeueChange(e, "replay", now));
      await store.update(changes);
      const auditAndDrain = async () => {
        await auditReplay(sink, chosen, actorOf(opts));
        return drainWith(store, sink, ctx, { wait: opts.wait, label: "replay" });
      };
      // a server that cannot be used, for the audit or the drain, leaves the events as they were
      const drain = await auditAndDrain().catch(async (err: unknown) => {
        throw await undoIfServerUnusable(err, store, chosen, now);
      });
      return { dryRun: false, chosen: chosen.length, requeued: changes.length, drain };
    } finally {
      await sink.close();
    }
  } finally {
    await store.close();
  }
}

/**
 * A replay whose drain could not use the server (unreachable, or not set up) must change nothing:
 * the chosen events still exactly as the requeue left them get their fields back. Events the
 * drain did settle before the server went away keep their outcome. Returns the error to throw.
 */
async function undoIfServerUnusable(err: unknown, store: LocalQueueStore, chosen: QueuedEvent[], requeuedAt: number): Promise<unknown> {
  if (!(err instanceof SinkUnreachableError || err instanceof SinkSetupError)) return err;
  const now = await store.getMany(chosen.map((e) => e.id));
  const untouched = chosen.filter((_, i) => now[i]?.status === "pending" && now[i]?.replayedAt === requeuedAt);
  await store.update(untouched.map((e) => undoRequeueChange(e, "replay undone: server not usable")));
  const note = `; replay undone: ${untouched.length} of the ${chosen.length} chosen events were put back as they were`;
  return err instanceof SinkUnreachableError
    ? new SinkUnreachableError(`${err.message}${note}`, err.code, { cause: err })
    : new SinkSetupError(`${err.message}${note}`, err.code, { cause: err });
}

const actorOf = (opts: ReplayOptions): string => opts.actor ?? process.env.USER ?? "cli";

/**
 * Records the replay in the server's audit log. A server that cannot take it (a sink without an
 * audit log, a schema not yet migrated) gets a warning: the replay itself goes on.
 */
async function auditReplay(sink: Sink, events: QueuedEvent[], actor: string): Promise<void> {
  if (!sink.recordReplays) {
    process.stderr.write(`mudsync: warning: the ${sink.name} sink keeps no audit log; this replay is not audited\n`);
    return;
  }
  try {
    for (let i = 0; i < events.length; i += PAGE) {
      await sink.recordReplays(events.slice(i, i + PAGE).map((e) => ({ id: e.id, entity: e.entity, entityId: e.entityId })), actor, "queue replay");
    }
  } catch (err) {
    if (err instanceof SinkUnreachableError) throw new SinkUnreachableError(`${err.message}: server unreachable`, err.code, { cause: err });
    process.stderr.write(`mudsync: warning: this replay is not audited: ${(err as Error).message} (run \`mudsync db migrate\`)\n`);
  }
}

async function choose(store: LocalQueueStore, opts: ReplayOptions): Promise<QueuedEvent[]> {
  if (opts.ids && opts.ids.length > 0) {
    const found = await store.getMany(opts.ids);
    const missing = opts.ids.find((_, i) => found[i] === undefined);
    if (missing !== undefined) throw new EventNotFoundError(missing);
    return (found as QueuedEvent[]).filter((e) => !opts.entity || e.entity === opts.entity);
  }
  const statuses = opts.statuses ?? DEFAULT_STATUSES;
  for (const s of statuses) {
    if (!EVENT_STATUSES.includes(s)) throw new UsageError(`--status: unknown status "${s}" (expected ${EVENT_STATUSES.join(", ")})`);
  }
  const out: QueuedEvent[] = [];
  let after: string | undefined;
  do {
    const page = await store.list({ statuses, entity: opts.entity, limit: PAGE, after, order: "asc" });
    out.push(...page.events);
    after = page.next ?? undefined;
  } while (after);
  return out;
}

export function renderReplay(r: ReplayResult): string {
  if (!r.dryRun) {
    const skipped = r.skipped?.length ? ` (${r.skipped.length} skipped: ${r.skipped[0]!.id} ${r.skipped[0]!.reason}${r.skipped.length > 1 ? ", …" : ""})` : "";
    return `requeued ${r.requeued} events${skipped}\n${renderDrain(r.drain)}`;
  }
  return renderReplayDryRun(r);
}
