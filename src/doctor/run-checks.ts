/**
 * Runs every check over a stream of chunks in one pass and collects their findings, most severe
 * first. Pure: the chunks come from a source adapter (with the server's facts when a server was
 * given), or from a test.
 */
import type { QueuedEvent } from "../core/event.ts";
import { type InvalidEventRow, type RuleContext, type ServerFacts, severityRank } from "./rule.ts";
import { RULES } from "./rules/index.ts";
import type { Finding } from "./types.ts";

export interface CheckedChunk {
  events: QueuedEvent[];
  /** rows of an export that are not valid events */
  invalid?: InvalidEventRow[];
  /** per event, what the server says about it (with --db) */
  facts?: ServerFacts[];
}

export async function runChecks(
  chunks: AsyncIterable<CheckedChunk> | Iterable<CheckedChunk>,
  ctx: RuleContext,
): Promise<{ events: number; findings: Finding[] }> {
  const rules = RULES.map((r) => r.create(ctx));
  const observers = rules.filter((r) => r.observe);
  const invalidObservers = rules.filter((r) => r.invalid);
  let events = 0;
  for await (const chunk of chunks) {
    for (let i = 0; i < chunk.events.length; i++) {
      const e = chunk.events[i]!;
      const f = chunk.facts?.[i];
      for (const r of observers) r.observe!(e, f);
    }
    for (const row of chunk.invalid ?? []) for (const r of invalidObservers) r.invalid!(row);
    events += chunk.events.length + (chunk.invalid?.length ?? 0);
  }
  return { events, findings: sortFindings(rules.flatMap((r) => r.findings(events))) };
}

/** Most severe first; within a severity, the order of the checks. */
export function sortFindings(findings: Finding[]): Finding[] {
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => severityRank(a.f.severity) - severityRank(b.f.severity) || a.i - b.i)
    .map((x) => x.f);
}
