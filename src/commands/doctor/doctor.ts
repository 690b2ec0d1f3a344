/**
 * `mudsync doctor`: diagnoses the local store (default), an export file (`--file`, not imported)
 * or the shared Postgres queue (`--queue`), and the server with `--db`. Returns the report; the
 * caller sets exit 7 when it is not healthy. For a store held by a running daemon, the daemon's
 * status gives the head's age for the stuck-head check.
 */
import { diagnose } from "../../doctor/diagnose.ts";
import type { DaemonHeadStatus, DoctorInput, DoctorReport, Finding } from "../../doctor/types.ts";
import { UsageError } from "../../errors.ts";
import type { CommandContext } from "../shared/context.ts";
import { createProgress } from "../shared/progress.ts";

export interface DoctorOptions {
  file?: string;
  queue?: string;
}

export async function doctor(opts: DoctorOptions, ctx: CommandContext, now = Date.now()): Promise<DoctorReport> {
  if (opts.file !== undefined && opts.queue !== undefined) throw new UsageError("doctor reads either --file or --queue, not both");
  const base = { ...(ctx.config.db ? { db: ctx.config.db, dbSchema: ctx.config.schema } : {}) };
  let input: DoctorInput;
  if (opts.file !== undefined) input = { kind: "file", path: opts.file, ...base };
  else if (opts.queue !== undefined) input = { kind: "queue", url: opts.queue, schema: ctx.config.queueSchema, ...base };
  else {
    const { assertStoreExists, storeKeysOf } = await import("../queue/open-store.ts");
    await assertStoreExists(ctx.config.store);
    const daemon = await daemonStatus(ctx.config.store);
    input = { kind: "store", dir: ctx.config.store, keys: await storeKeysOf(ctx), ...base, ...(daemon ? { daemon } : {}) };
  }
  const progress = createProgress(ctx);
  let last: { done: number; total?: number; unit: string } | undefined;
  const report = await diagnose(input, {
    now,
    stuckAfterMs: ctx.config.stuckAfterMs,
    onProgress: (p) => {
      last = p;
      progress.update({ phase: "doctor", ...p });
    },
  });
  if (last) progress.finish({ phase: "doctor", ...last });
  return report;
}

/** The head as the daemon holding the store sees it; undefined when no daemon holds it or it does not answer. */
async function daemonStatus(store: string): Promise<DaemonHeadStatus | undefined> {
  const { daemonHolding } = await import("../shared/control-client.ts");
  const held = await daemonHolding(store);
  if (!held) return undefined;
  try {
    const s = await held.client.get<DaemonHeadStatus>("/v1/status");
    return { head: s.head, paused: s.paused, control: held.client.address };
  } catch {
    return undefined;
  }
}

const MARK: Record<Finding["severity"], string> = { error: "ERROR", warning: "WARN ", info: "INFO " };

export function renderDoctor(r: DoctorReport): string {
  const n = r.findings.length;
  const lines = [`${r.source}: ${r.events} events, ${n === 0 ? "no findings" : `${n} finding${n === 1 ? "" : "s"}`}`];
  for (const f of r.findings) {
    lines.push("", `${MARK[f.severity]} ${f.title}  [${f.kind}]`, `      ${f.evidence}`);
    if (f.eventIds.length > 0) lines.push(`      events: ${f.eventIds.join(", ")}${f.moreEvents > 0 ? ` +${f.moreEvents} more` : ""}`);
    lines.push(`      fix: ${f.fix}`);
  }
  lines.push("", r.healthy ? "healthy" : "needs action (exit 7)");
  return lines.join("\n");
}
