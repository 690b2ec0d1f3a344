/**
 * Wraps the one-statement drain so the daemon logs one JSON line per transaction, as observeSink
 * does for a batch: events sent, outcomes, events handed to the engine, duration, or the error
 * (after which the engine goes on along the leased path).
 */
import type { OneStatementBatches } from "../core/one-statement-drain.ts";
import type { ApplyOutcome } from "../core/ports.ts";
import type { BatchReport, BatchStart } from "./observed-sink.ts";

/**
 * The name of this drain in the daemon's log: the `event` of the startup line that says whether it
 * is on, and the `source` of its batch lines. It keeps the drain's former name, "fused", as scripts
 * that read the log may match on it.
 */
export const ONE_STATEMENT_LOG_NAME = "fused";

export function observeOneStatement(batches: OneStatementBatches, onBatch: (report: BatchReport) => void, onStart?: BatchStart): OneStatementBatches {
  return {
    async claimApplySettle(options) {
      const started = performance.now();
      // the events are claimed inside the statement: their number is known only when it ends
      const token = onStart?.(ONE_STATEMENT_LOG_NAME, 0);
      try {
        const r = await batches.claimApplySettle(options);
        if (r.wireEvents > 0) {
          const outcomes: Record<ApplyOutcome, number> = { applied: 0, duplicate: 0, conflict: 0, deferred: 0, rejected: 0 };
          for (const e of r.settled) outcomes[e.outcome] += 1;
          for (const h of r.handed) if (h.result && h.result.outcome in outcomes) outcomes[h.result.outcome] += 1;
          onBatch({ source: ONE_STATEMENT_LOG_NAME, events: r.wireEvents, ms: performance.now() - started, outcomes, token });
        } else onBatch({ source: ONE_STATEMENT_LOG_NAME, events: 0, ms: performance.now() - started, token, empty: true });
        return r;
      } catch (error) {
        onBatch({ source: ONE_STATEMENT_LOG_NAME, events: 0, ms: performance.now() - started, error, token });
        throw error;
      }
    },
  };
}
