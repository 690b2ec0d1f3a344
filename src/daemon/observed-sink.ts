/**
 * A Sink decorator that reports every batch (events, outcomes, duration, or the error) to a
 * callback, so the daemon logs one JSON line per batch whichever path sent it (the drain loop or
 * POST /v1/batches). Everything else is passed through to the wrapped sink unchanged.
 */
import type { ApplyOutcome, ApplyResult, Sink, WireEvent } from "../core/ports.ts";

export interface BatchReport {
  source: string;
  events: number;
  ms: number;
  outcomes?: Record<ApplyOutcome, number>;
  error?: unknown;
  /** what `onStart` returned for this batch */
  token?: number;
  /** nothing was due: no batch was sent (only ends what `onStart` began) */
  empty?: boolean;
}

/** Called as a batch is sent; what it returns comes back as the report's `token`. */
export type BatchStart = (source: string, events: number) => number;

export function observeSink(sink: Sink, source: string, onBatch: (report: BatchReport) => void, onStart?: BatchStart): Sink {
  const observed: Sink = {
    name: sink.name,
    capabilities: sink.capabilities,
    async applyBatch(events: WireEvent[]): Promise<ApplyResult[]> {
      const started = performance.now();
      const token = onStart?.(source, events.length);
      try {
        const results = await sink.applyBatch(events);
        const outcomes: Record<ApplyOutcome, number> = { applied: 0, duplicate: 0, conflict: 0, deferred: 0, rejected: 0 };
        for (const r of results) if (r.outcome in outcomes) outcomes[r.outcome] += 1;
        onBatch({ source, events: events.length, ms: performance.now() - started, outcomes, token });
        return results;
      } catch (error) {
        onBatch({ source, events: events.length, ms: performance.now() - started, error, token });
        throw error;
      }
    },
    dryRun: (events) => sink.dryRun(events),
    getRow: (entity, id) => sink.getRow(entity, id),
    close: () => sink.close(),
  };
  if (sink.parkConflicts) observed.parkConflicts = sink.parkConflicts.bind(sink);
  if (sink.listConflicts) observed.listConflicts = sink.listConflicts.bind(sink);
  if (sink.getConflict) observed.getConflict = sink.getConflict.bind(sink);
  if (sink.resolveConflict) observed.resolveConflict = sink.resolveConflict.bind(sink);
  return observed;
}
