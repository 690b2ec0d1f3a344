/**
 * What a version conflict does to the local event once the entity's strategy has decided: back to
 * pending with the rebased edit (dead after too many conflicting attempts), completed when the edit
 * is dropped, or dead and parked on the server for a person. Counts into the drain summary.
 */
import type { QueuedEvent } from "./event.ts";
import type { ApplyResult } from "./ports.ts";
import { toWireEvent } from "./coalesce.ts";
import { resolveConflict, type ConflictAudit, type ConflictStrategy } from "./conflict.ts";
import type { DrainSummary } from "./drain-summary.ts";
import type { EngineMetrics } from "./metrics.ts";

export interface ConflictSettlementContext {
  strategyFor(entity: string): ConflictStrategy;
  maxAttempts: number;
  now: number;
  summary: DrainSummary;
  metrics?: EngineMetrics;
  hooks?: { onConflict?(audit: ConflictAudit): void; onRollback?(event: QueuedEvent): void };
}

export interface ConflictSettlement {
  changes: Partial<QueuedEvent>;
  note: string;
  /** park the event on the server (manual strategy) */
  park: boolean;
}

export function settleConflict(event: QueuedEvent, result: ApplyResult, ctx: ConflictSettlementContext): ConflictSettlement {
  const { metrics, hooks, summary, now } = ctx;
  const base = (event as { base?: unknown }).base;
  const decision = resolveConflict({ strategy: ctx.strategyFor(event.entity), event: toWireEvent(event), current: asCurrent(result), base });
  hooks?.onConflict?.(decision.audit);
  const cleared = { leaseUntil: undefined, leaseOwner: undefined };
  const note = `conflict (${decision.audit.strategy}): ${decision.audit.reason}`;
  if (decision.kind === "resubmit") {
    const attempts = (event.attempts ?? 0) + 1;
    summary.conflicts.resubmitted += 1;
    metrics?.conflicts.inc({ resolution: "resubmitted" });
    if (attempts >= ctx.maxAttempts) {
      summary.dead += 1;
      metrics?.dead.inc();
      return {
        changes: { ...cleared, status: "dead", outcome: "conflict", attempts, deadAt: now, lastError: `${note}; gave up after ${attempts} conflicting attempts` },
        note,
        park: false,
      };
    }
    return {
      changes: { ...cleared, status: "pending", outcome: "conflict", attempts, payload: decision.event.payload, baseVersion: decision.event.baseVersion, lastError: note, nextAttemptAt: undefined },
      note,
      park: false,
    };
  }
  if (decision.kind === "drop") {
    summary.conflicts.dropped += 1;
    metrics?.conflicts.inc({ resolution: "dropped" });
    if (decision.rollback) hooks?.onRollback?.(event);
    return { changes: { ...cleared, status: "completed", outcome: "conflict", completedAt: now, lastError: note }, note, park: false };
  }
  summary.conflicts.parked += 1;
  metrics?.conflicts.inc({ resolution: "parked" });
  return { changes: { ...cleared, status: "dead", outcome: "conflict", deadAt: now, lastError: `${note}; see \`mudsync conflicts ls\`` }, note, park: true };
}

function asCurrent(result: ApplyResult): { version: number; data: unknown } {
  const cur = result.current as { version?: number; data?: unknown } | null | undefined;
  const version = typeof cur?.version === "number" ? cur.version : (result.version ?? 0);
  return { version, data: cur && "data" in cur ? cur.data : (cur ?? null) };
}
