/** Inline fixtures for the doctor's checks: events built from a few fields, and the checks run over them. */
import type { QueuedEvent } from "../../src/core/event.ts";
import { FixCommands } from "../../src/doctor/fix-commands.ts";
import type { InvalidEventRow, RuleContext, ServerFacts, ServerSettings } from "../../src/doctor/rule.ts";
import { runChecks } from "../../src/doctor/run-checks.ts";
import type { DaemonHeadStatus, DoctorSource, Finding } from "../../src/doctor/types.ts";

export const NOW = Date.parse("2026-01-10T12:00:00Z");

let n = 0;
/** A pending `well` update, one second apart per call unless fields say otherwise. */
export function ev(fields: Partial<QueuedEvent> = {}): QueuedEvent {
  n++;
  return {
    id: `e${String(n).padStart(5, "0")}`,
    type: "update",
    entity: "well",
    entityId: `well-${n}`,
    payload: { name: `w${n}` },
    timestamp: NOW - 3_600_000 + n * 1000,
    status: "pending",
    retryCount: 0,
    ...fields,
  };
}

export interface CheckOptions {
  invalid?: InvalidEventRow[];
  facts?: (e: QueuedEvent) => ServerFacts;
  server?: ServerSettings;
  daemon?: DaemonHeadStatus;
  source?: DoctorSource;
  sampleSize?: number;
  stuckAfterMs?: number;
}

export async function check(events: QueuedEvent[], o: CheckOptions = {}): Promise<Finding[]> {
  const source = o.source ?? { kind: "store", dir: "/tmp/s" };
  const ctx: RuleContext = {
    now: NOW,
    sampleSize: o.sampleSize ?? 10,
    stuckAfterMs: o.stuckAfterMs ?? 60_000,
    fix: new FixCommands(source, o.server ? "postgres://u:secret@db/app" : undefined),
    daemon: o.daemon,
    server: o.server,
  };
  // two chunks, so that state carried across chunks is exercised
  const half = Math.floor(events.length / 2);
  const chunk = (es: QueuedEvent[]) => ({ events: es, facts: o.facts ? es.map(o.facts) : undefined });
  const r = await runChecks([chunk(events.slice(0, half)), { ...chunk(events.slice(half)), invalid: o.invalid }], ctx);
  return r.findings;
}

/** The findings of one kind. */
export function ofKind(findings: Finding[], kind: string): Finding[] {
  return findings.filter((f) => f.kind === kind);
}

/** A healthy mix: pending, completed, failed with a retry time, processing under a live lease. */
export function healthyQueue(): QueuedEvent[] {
  return [
    ev(),
    ev({ status: "completed" }),
    ev({ status: "failed", retryCount: 1, nextAttemptAt: NOW + 2000, lastError: "timeout" }),
    ev({ status: "processing", leaseUntil: NOW + 30_000 }),
    ev({ type: "add", entity: "chart_data_source", entityId: "c1", payload: { id: "x" } }),
    ev({ type: "remove", entity: "chart_data_source", entityId: "c1", payload: { id: "y" } }),
  ];
}
