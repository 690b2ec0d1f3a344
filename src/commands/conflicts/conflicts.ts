/**
 * `mudsync conflicts ls|show|resolve`: conflicts parked on the server by the `manual` strategy.
 * `show` prints a field-by-field diff of the local edit against the row it lost to; `resolve`
 * applies the chosen side atomically on the server (audited) and marks the local event settled.
 */
import type { ConflictRecord, ConflictTake, ResolveConflictResult, Sink } from "../../core/ports.ts";
import { resolveConflict as decide } from "../../core/conflict.ts";
import { isPlainObject } from "../../core/merge.ts";
import { MudsyncError, StoreLockedError, UsageError } from "../../errors.ts";
import type { CommandContext } from "../shared/context.ts";
import { openSinkFor } from "../shared/sink-setup.ts";
import { table } from "../shared/output.ts";

async function withConflictSink<T>(ctx: CommandContext, fn: (sink: Required<Pick<Sink, "listConflicts" | "getConflict" | "resolveConflict">>) => Promise<T>): Promise<T> {
  const sink = await openSinkFor(ctx);
  try {
    if (!sink.listConflicts || !sink.getConflict || !sink.resolveConflict) {
      throw new UsageError(`the ${sink.name} sink does not keep parked conflicts; use --db postgres://… or the embedded database`);
    }
    return await fn(sink as Required<Sink>);
  } finally {
    await sink.close();
  }
}

export async function conflictsLs(opts: { status?: "open" | "resolved" | "all"; limit: number }, ctx: CommandContext): Promise<{ conflicts: ConflictRecord[] }> {
  return withConflictSink(ctx, async (sink) => ({
    conflicts: await sink.listConflicts({ ...(opts.status && opts.status !== "all" ? { status: opts.status } : {}), limit: opts.limit }),
  }));
}

export function renderConflictsLs(r: { conflicts: ConflictRecord[] }): string {
  if (r.conflicts.length === 0) return "no parked conflicts";
  return table(
    ["id", "status", "row", "event", "type", "base→current", "parked at"],
    r.conflicts.map((c) => [String(c.id), c.status + (c.resolution ? ` (${c.resolution})` : ""), `${c.entity}:${c.entityId}`, c.eventId, c.local.type, `v${c.baseVersion ?? "-"}→v${c.currentVersion ?? "-"}`, c.createdAt]),
  );
}

async function getOrFail(sink: { getConflict(id: number): Promise<ConflictRecord | null> }, id: number): Promise<ConflictRecord> {
  const c = await sink.getConflict(id);
  if (!c) throw new UsageError(`no parked conflict with id ${id} (see \`mudsync conflicts ls\`)`);
  return c;
}

export interface ShowConflictResult {
  conflict: ConflictRecord;
  diff: { field: string; local: unknown; remote: unknown }[];
  /** what `--take merged` would send when no merged value is given */
  proposedMerge: unknown;
}

export async function conflictsShow(opts: { id: number }, ctx: CommandContext): Promise<ShowConflictResult> {
  return withConflictSink(ctx, async (sink) => {
    const conflict = await getOrFail(sink, opts.id);
    return { conflict, diff: diffOf(conflict), proposedMerge: proposeMerge(conflict) };
  });
}

function diffOf(c: ConflictRecord): ShowConflictResult["diff"] {
  const local = c.local.payload;
  const remoteData = c.remote?.data;
  if (c.entity === "chart_data_source") {
    const entries = (isPlainObject(remoteData) && Array.isArray(remoteData.data_source_config) ? remoteData.data_source_config : Array.isArray(remoteData) ? remoteData : []) as Record<string, unknown>[];
    const remoteEntry = entries.find((e) => e.id === local.id);
    return [{ field: `entry ${String(local.id)}`, local: c.local.type === "remove" ? "(removed)" : local, remote: remoteEntry ?? "(absent)" }];
  }
  const remote = isPlainObject(remoteData) ? remoteData : {};
  if (c.local.type === "remove") return [{ field: "(row)", local: "(removed)", remote: c.remote ? remote : "(absent)" }];
  return Object.keys(local)
    .filter((k) => JSON.stringify(local[k]) !== JSON.stringify(remote[k]))
    .map((k) => ({ field: k, local: local[k], remote: remote[k] }));
}

function proposeMerge(c: ConflictRecord): unknown {
  const d = decide({ strategy: "merge", event: c.local, current: { version: c.currentVersion ?? 0, data: c.remote?.data ?? null } });
  return d.kind === "resubmit" ? d.event.payload : null;
}

export function renderConflictShow(r: ShowConflictResult): string {
  const c = r.conflict;
  return [
    `conflict ${c.id} (${c.status}${c.resolution ? `, took ${c.resolution}` : ""})`,
    `row        ${c.entity}:${c.entityId}  base v${c.baseVersion ?? "-"}, current v${c.currentVersion ?? "-"}`,
    `event      ${c.eventId} (${c.local.type}${c.local.clientId ? ` by ${c.local.clientId}` : ""})`,
    `parked     ${c.createdAt}${c.createdBy ? ` by ${c.createdBy}` : ""}`,
    "",
    r.diff.length === 0 ? "no differing fields" : table(["field", "local", "remote"], r.diff.map((d) => [d.field, JSON.stringify(d.local) ?? "-", JSON.stringify(d.remote) ?? "-"]), 60),
    "",
    `proposed merge: ${JSON.stringify(r.proposedMerge)}`,
    `resolve with: mudsync conflicts resolve ${c.id} --take local|remote|merged`,
  ].join("\n");
}

export interface ResolveOptions {
  id: number;
  take: ConflictTake;
  merged?: unknown;
  actor?: string;
}

export interface ResolveResult extends ResolveConflictResult {
  /** whether the local queue event was marked completed (false if the store is locked or lacks it) */
  localEventSettled: boolean | "store locked";
}

export async function conflictsResolve(opts: ResolveOptions, ctx: CommandContext): Promise<ResolveResult> {
  const result = await withConflictSink(ctx, async (sink) => {
    const conflict = await getOrFail(sink, opts.id);
    if (conflict.status === "resolved") throw new UsageError(`conflict ${opts.id} is already resolved (took ${conflict.resolution})`);
    let merged = opts.merged;
    if (opts.take === "merged" && merged === undefined) {
      merged = proposeMerge(conflict);
      if (merged === null) throw new UsageError(`conflict ${opts.id}: no merge to propose (the remote already has the change or removed the row); pass --merged JSON or --take remote`);
    }
    return sink.resolveConflict(opts.id, opts.take, merged, opts.actor ?? process.env.USER ?? "cli");
  });
  return { ...result, localEventSettled: await settleLocal(ctx, result) };
}

async function settleLocal(ctx: CommandContext, r: ResolveConflictResult): Promise<boolean | "store locked"> {
  const { openQueueStore } = await import("../queue/open-store.ts");
  let store;
  try {
    store = await openQueueStore(ctx, "write", "conflicts resolve");
  } catch (err) {
    if (err instanceof StoreLockedError) return "store locked";
    if (err instanceof MudsyncError) return false;
    throw err;
  }
  try {
    const ev = await store.get(r.eventId);
    if (!ev) return false;
    await store.update([{ id: r.eventId, changes: { status: "completed", completedAt: Date.now(), lastError: undefined, ...(r.result.version !== undefined ? { appliedVersion: r.result.version } : {}) }, note: `conflict ${r.conflictId} resolved: took ${r.take}` }]);
    return true;
  } finally {
    await store.close();
  }
}

export function renderConflictResolve(r: ResolveResult): string {
  return [
    `conflict ${r.conflictId} resolved: took ${r.take} (${r.result.outcome}${r.result.version !== undefined ? `, v${r.result.version}` : ""})`,
    r.row ? `row ${r.row.entity}:${r.row.id} now v${r.row.version}: ${JSON.stringify(r.row.data)}` : "row removed",
    r.localEventSettled === true ? `local event ${r.eventId} marked completed` : r.localEventSettled === "store locked" ? `local event ${r.eventId} left as is: the store is locked by a running process` : `local event ${r.eventId} is not in this store`,
  ].join("\n");
}

