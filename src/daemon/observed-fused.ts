/**
 * Wraps the fused path so the daemon logs one JSON line per fused transaction, as observeSink does
 * for a batch: events sent, outcomes, events handed to the engine, duration, or the error (after
 * which the engine goes on along the leased path).
 */
import type { FusedBatches } from "../core/fused-drain.ts";
import type { ApplyOutcome } from "../core/ports.ts";
import type { BatchReport } from "./observed-sink.ts";

export function observeFused(fused: FusedBatches, onBatch: (report: BatchReport) => void): FusedBatches {
  return {
    async claimApplySettle(options) {
      const started = performance.now();
      try {
        const r = await fused.claimApplySettle(options);
        if (r.wireEvents > 0) {
          const outcomes: Record<ApplyOutcome, number> = { applied: 0, duplicate: 0, conflict: 0, rejected: 0 };
          for (const e of r.settled) outcomes[e.outcome] += 1;
          for (const h of r.handed) if (h.result && h.result.outcome in outcomes) outcomes[h.result.outcome] += 1;
          onBatch({ source: "fused", events: r.wireEvents, ms: performance.now() - started, outcomes });
        }
        return r;
      } catch (error) {
        onBatch({ source: "fused", events: 0, ms: performance.now() - started, error });
        throw error;
      }
    },
  };
}
