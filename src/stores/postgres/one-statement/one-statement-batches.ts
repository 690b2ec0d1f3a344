/**
 * The Postgres queue store's one-statement drain (core/one-statement-drain.ts) over a sink whose
 * schema is in the same database: one call runs one-statement-sql.ts's statement (claim,
 * apply_batch, settle in one transaction) and turns its rows into what the engine needs: the
 * settled events' ids and outcomes (no event bodies cross the wire for them) and the events handed
 * back, whole, with their results.
 */
import type pg from "pg";
import type { OneStatementBatchResult, OneStatementBatches, OneStatementSettled } from "../../../core/one-statement-drain.ts";
import type { ApplyResult, ClaimOptions } from "../../../core/ports.ts";
import { oneStatementParams, oneStatementSql } from "./one-statement-sql.ts";
import { rowToEvent, type EventRow } from "../event-row.ts";

/** An event handed to the engine: its columns and its apply result. */
interface HandedRow extends Omit<EventRow, "event"> {
  id: string;
  kind: "engine";
  result: ApplyResult | null;
  event: Record<string, unknown> | null;
}

/** A settled event: id, kind, outcome, version, ts. */
type SettledRow = [string, "completed" | "dead", string | null, number | null, number];

interface OneStatementAnswer {
  /** bigint: text on the wire */
  sent: string;
  events: (SettledRow | HandedRow)[];
}

export class PostgresOneStatementBatches implements OneStatementBatches {
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
    this.text = oneStatementSql(queueSchema, sinkSchema);
  }

  async claimApplySettle(options: ClaimOptions): Promise<OneStatementBatchResult> {
    const out: OneStatementBatchResult = { settled: [], handed: [], wireEvents: 0 };
    if (!Number.isInteger(options.limit) || options.limit < 1) return out;
    // unnamed, as the claim: planned for the actual now and limit each time
    const { rows } = await this.pool.query<OneStatementAnswer>(this.text, oneStatementParams(options, this.crowded, this.half));
    const answer = rows[0]!;
    this.half = 1 - this.half;
    this.crowded = answer.events.length < options.limit * 0.9;
    for (const r of answer.events) {
      if (!Array.isArray(r)) {
        const event = rowToEvent({ ...r, event: r.event ?? {} });
        out.handed.push(r.result ? { event, result: r.result } : { event });
        continue;
      }
      const [id, kind, outcome, version, ts] = r;
      const settled: OneStatementSettled = { id, outcome: kind === "dead" ? "rejected" : (outcome as "applied" | "duplicate"), timestamp: ts };
      if (version !== null) settled.version = version;
      out.settled.push(settled);
    }
    out.wireEvents = Number(answer.sent);
    return out;
  }
}
