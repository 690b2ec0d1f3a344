/**
 * The Postgres queue store's fused path (core/fused-drain.ts) over a sink whose schema is in the
 * same database: one call runs fused-sql.ts's statement (claim, apply_batch, settle in one
 * transaction) and turns its rows into what the engine needs: the settled events' ids and
 * outcomes (no event bodies cross the wire for them) and the events handed back, whole, with
 * their results.
 */
import type pg from "pg";
import type { FusedBatchResult, FusedBatches } from "../../core/fused-drain.ts";
import type { ApplyResult, ClaimOptions } from "../../core/ports.ts";
import { fusedParams, fusedSql } from "./fused-sql.ts";
import { rowToEvent, type EventRow } from "./event-row.ts";

interface FusedRow extends Omit<EventRow, "event"> {
  id: string;
  kind: "completed" | "dead" | "engine";
  outcome: string | null;
  /** bigint: text on the wire */
  version: string | null;
  ts: number;
  result: ApplyResult | null;
  event: Record<string, unknown> | null;
  sent: string;
}

export class PostgresFusedBatches implements FusedBatches {
  private readonly text: string;
  /** the last batch came back short of its limit: other workers hold rows, look further */
  private crowded = false;
  /** the half of the rows to try first; alternates, so a worker alone drains both in turn */
  private half = 0;

  constructor(
    private readonly pool: pg.Pool,
    queueSchema: string,
    readonly sinkSchema: string,
  ) {
    this.text = fusedSql(queueSchema, sinkSchema);
  }

  async claimApplySettle(options: ClaimOptions): Promise<FusedBatchResult> {
    const out: FusedBatchResult = { settled: [], handed: [], wireEvents: 0 };
    if (!Number.isInteger(options.limit) || options.limit < 1) return out;
    // unnamed, as the claim: planned for the actual now and limit each time
    const { rows } = await this.pool.query<FusedRow>(this.text, fusedParams(options, this.crowded, this.half));
    this.half = 1 - this.half;
    this.crowded = rows.length < options.limit * 0.9;
    for (const r of rows) {
      if (r.kind === "engine") {
        const event = rowToEvent({ ...r, event: r.event ?? {} });
        out.handed.push(r.result ? { event, result: r.result } : { event });
      } else {
        const outcome = r.kind === "dead" ? "rejected" : (r.outcome as "applied" | "duplicate");
        out.settled.push({ id: r.id, outcome, timestamp: r.ts, ...(r.version !== null ? { version: Number(r.version) } : {}) });
      }
    }
    out.wireEvents = rows.length > 0 ? Number(rows[0]!.sent) : 0;
    return out;
  }
}
