/**
 * `mudsync conflicts ls|show|resolve`: conflicts parked on the server by the `manual` strategy.
 * `show` prints a field-by-field diff of the local edit against the row it lost to; `resolve`
 * applies the chosen side atomically on the server (audited) and marks the local event settled.
 */
import type { ConflictRecord, ConflictTake, ResolveConflictResult, RowState, Sink } from "../../core/ports.ts";
import { checkGivenMerge, proposeMerge, type MergeProposal, type ProposalInput } from "../../core/conflict-proposal.ts";
import { entriesOf, isEntryList } from "../../core/conflict.ts";
import { entryId, isPlainObject } from "../../core/merge.ts";
import { MudsyncError, StoreLockedError, UsageError } from "../../errors.ts";
import type { CommandContext } from "../shared/context.ts";
import { openSinkFor } from "../shared/sink-setup.ts";
import { table } from "../shared/output.ts";

type ConflictSink = Required<Pick<Sink, "listConflicts" | "getConflict" | "resolveConflict">> & Pick<Sink, "getRow">;

async function withConflictSink<T>(ctx: CommandContext, fn: (sink: ConflictSink) => Promise<T>): Promise<T> {
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
  /** the row as it is now on the server (null: no such row) */
  current: RowState | null;
  diff: { field: string; local: unknown; remote: unknown }[];
  /** what `--take merged` writes when no merged value is given; null when there is nothing to merge */
  proposedMerge: MergeProposal | null;
  /** why there is no proposed merge */
  noMergeReason?: string;
}

export async function conflictsShow(opts: { id: number }, ctx: CommandContext): Promise<ShowConflictResult> {
  return withConflictSink(ctx, async (sink) => {
    const conflict = await getOrFail(sink, opts.id);
    const current = await sink.getRow(conflict.entity, conflict.entityId);
    const p = conflict.status === "resolved" ? { none: `already resolved (took ${conflict.resolution})` } : proposeMerge(proposalInput(conflict, current));
    return {
      conflict,
      current,
      diff: diffOf(conflict),
      proposedMerge: "proposal" in p ? p.proposal : null,
      ...("none" in p ? { noMergeReason: p.none } : {}),
    };
  });
}

function proposalInput(c: ConflictRecord, current: RowState | null): ProposalInput {
  return { event: c.local, current: current ? { version: current.version, data: current.data } : null };
}

function diffOf(c: ConflictRecord): ShowConflictResult["diff"] {
  const local = c.local.payload;
  const remoteData = c.remote?.data;
  if (isEntryList(c.entity)) {
    const remoteEntry = entriesOf(remoteData).find((e) => entryId(e) === entryId(local));
    return [{ field: `entry ${String(local.id)}`, local: c.local.type === "remove" ? "(removed)" : local, remote: remoteEntry ?? "(absent)" }];
  }
  const remote = isPlainObject(remoteData) ? remoteData : {};
  if (c.local.type === "remove") return [{ field: "(row)", local: "(removed)", remote: c.remote ? remote : "(absent)" }];
  return Object.keys(local)
    .filter((k) => JSON.stringify(local[k]) !== JSON.stringify(remote[k]))
    .map((k) => ({ field: k, local: local[k], remote: remote[k] }));
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
    ...renderProposal(r),
  ].join("\n");
}

function renderProposal(r: ShowConflictResult): string[] {
  const c = r.conflict;
  if (c.status === "resolved") return [`merged value written: ${JSON.stringify(c.merged) ?? "-"}`];
  const cmd = `mudsync conflicts resolve ${c.id} --take`;
  if (!r.proposedMerge) return [`no merge to propose: ${r.noMergeReason ?? "nothing left to apply"}`, `resolve with: ${cmd} local|remote`];
  const p = r.proposedMerge;
  return [
    `proposed merge (on v${p.version}${p.conflicts.length ? `; both sides changed ${p.conflicts.join(", ")}: local taken` : ""}):`,
    p.row === null ? "  (row removed)" : JSON.stringify(p.row, null, 2).replace(/^/gm, "  "),
    `resolve with: ${cmd} local|remote, or ${cmd} merged --if-version ${p.version} to write exactly the row above`,
  ];
}

export interface ResolveOptions {
  id: number;
  take: ConflictTake;
  /** with take "merged": the whole merged document or entry (null removes it); default: the proposal */
  merged?: unknown;
  /** with take "merged": refuse unless the row is still at this version (the one `show` printed) */
  ifVersion?: number;
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
    const actor = opts.actor ?? process.env.USER ?? "cli";
    if (opts.take !== "merged") return sink.resolveConflict(opts.id, opts.take, undefined, actor);
    const current = await sink.getRow(conflict.entity, conflict.entityId);
    const version = current ? current.version : 0;
    if (opts.ifVersion !== undefined && opts.ifVersion !== version) {
      throw new UsageError(`conflict ${opts.id}: the row ${conflict.entity}:${conflict.entityId} is now v${version}, not v${opts.ifVersion}; run \`mudsync conflicts show ${opts.id}\` again`);
    }
    const input = proposalInput(conflict, current);
    let merged = opts.merged;
    if (merged === undefined) {
      const p = proposeMerge(input);
      if ("none" in p) throw new UsageError(`conflict ${opts.id}: no merge to propose (${p.none}); pass --merged JSON, or --take local|remote`);
      merged = p.proposal.write;
    } else {
      const refused = checkGivenMerge(input, merged);
      if (refused) throw new UsageError(`conflict ${opts.id}: --merged: ${refused}`);
    }
    return sink.resolveConflict(opts.id, "merged", merged, actor, version);
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

