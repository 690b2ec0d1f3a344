/**
 * The shared queue store on PostgreSQL: one row per event in `<schema>.events` (the event as
 * jsonb; its lease and settle fields, row order and history in columns of the same row: see
 * event-row.ts).
 * Every method is one round trip; claim uses FOR UPDATE SKIP LOCKED so several daemons on several
 * machines drain one queue without handing an event, or two events of one row, to two workers at
 * once.
 */
import type pg from "pg";
import type { EventStatus, QueuedEvent } from "../../core/event.ts";
import { parseEvent } from "../../core/event.ts";
import type {
  ClaimOptions,
  Clock,
  EnqueueResult,
  EventChange,
  HistoryEntry,
  ListPage,
  ListQuery,
  QueueStore,
  StoreCapabilities,
} from "../../core/ports.ts";
import { EventNotFoundError, InvalidEventError, UsageError } from "../../errors.ts";
import { BulkAnalyze } from "./bulk-analyze.ts";
import { claimParams, claimSql } from "./claim-sql.ts";
import { PostgresOneStatementBatches } from "./one-statement/one-statement-batches.ts";
import { PostgresQueueReads } from "./queue-reads.ts";
import { changesParam, updateSql } from "./update-sql.ts";
import { INSERT_COLUMNS, insertValues, rowToEvent, type EventRow } from "./event-row.ts";
import { checkSqlIdentifier, quoteSqlIdentifier } from "../../postgres/sql-identifier.ts";

/** Validates events before they reach the table; names the first bad one. */
function validated(events: QueuedEvent[], op: string): QueuedEvent[] {
  return events.map((e, i) => {
    const r = parseEvent(e);
    if (!r.ok) {
      const id = typeof (e as { id?: unknown })?.id === "string" ? ` (id ${(e as { id: string }).id})` : "";
      throw new InvalidEventError(`${op}: event ${i}${id}`, r.reason);
    }
    return r.event;
  });
}

export class PostgresQueueStore implements QueueStore {
  readonly capabilities: StoreCapabilities = { durable: true, shared: true, readOnly: false };
  private readonly events: string;
  private readonly claimText: string;
  private readonly updateText: string;
  private readonly bulkAnalyze: BulkAnalyze;
  private readonly reads: PostgresQueueReads;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    readonly schema: string,
    private readonly clock: Clock,
  ) {
    this.events = `${quoteSqlIdentifier(schema, "queue schema")}.events`;
    this.claimText = claimSql(schema);
    this.updateText = updateSql(schema);
    this.bulkAnalyze = new BulkAnalyze(pool, this.events);
    this.reads = new PostgresQueueReads(pool, schema);
  }

  async enqueue(events: QueuedEvent[]): Promise<EnqueueResult> {
    if (events.length === 0) return { inserted: [], existing: [] };
    const rows = validated(events, "enqueue");
    const { rows: out } = await this.pool.query<{ id: string }>({
      name: `mudsync_q_enqueue_${this.schema}`,
      text: `INSERT INTO ${this.events} (${INSERT_COLUMNS})
             SELECT ${insertValues("x.value")} FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(value, n)
             ORDER BY x.n
             ON CONFLICT (id) DO NOTHING
             RETURNING id`,
      values: [JSON.stringify(rows)],
    });
    await this.bulkAnalyze.wrote(out.length);
    const stored = new Set(out.map((r) => r.id));
    const result: EnqueueResult = { inserted: [], existing: [] };
    for (const id of new Set(rows.map((e) => e.id))) (stored.has(id) ? result.inserted : result.existing).push(id);
    return result;
  }

  async put(events: QueuedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const last = new Map<string, QueuedEvent>();
    for (const e of validated(events, "put")) {
      last.delete(e.id);
      last.set(e.id, e);
    }
    await this.pool.query({
      name: `mudsync_q_put_${this.schema}`,
      text: `INSERT INTO ${this.events} (${INSERT_COLUMNS})
             SELECT ${insertValues("x.value")} FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(value, n)
             ORDER BY x.n
             ON CONFLICT (id) DO UPDATE SET (${INSERT_COLUMNS}) =
               (${INSERT_COLUMNS.split(", ").map((c) => `EXCLUDED.${c}`).join(", ")})`,
      values: [JSON.stringify([...last.values()])],
    });
    await this.bulkAnalyze.wrote(last.size);
  }

  get(id: string): Promise<QueuedEvent | undefined> {
    return this.reads.get(id);
  }

  getMany(ids: string[]): Promise<(QueuedEvent | undefined)[]> {
    return this.reads.getMany(ids);
  }

  list(query: ListQuery): Promise<ListPage> {
    return this.reads.list(query);
  }

  counts(): Promise<Record<EventStatus, number>> {
    return this.reads.counts();
  }

  scan(batch = 500): AsyncIterable<QueuedEvent[]> {
    return this.reads.scan(batch);
  }

  async claim(options: ClaimOptions): Promise<QueuedEvent[]> {
    if (!Number.isInteger(options.limit) || options.limit < 1) return [];
    // unnamed on purpose: a plan made for the actual now/limit each time (a cached generic plan
    // cannot see how few events are due or blocked)
    const { rows } = await this.pool.query<EventRow>(this.claimText, claimParams(options));
    return rows.map(rowToEvent);
  }

  async update(changes: EventChange[]): Promise<{ lost: string[] }> {
    if (changes.length === 0) return { lost: [] };
    const { rows } = await this.pool.query<{ id: string; kind: "lost" | "missing" }>(this.updateText, [
      changesParam(changes),
      this.clock.now(),
    ]);
    const missing = rows.find((r) => r.kind === "missing");
    if (missing) throw new EventNotFoundError(missing.id);
    return { lost: rows.map((r) => r.id) };
  }

  history(id: string): Promise<HistoryEntry[]> {
    return this.reads.history(id);
  }

  /**
   * The one-statement drain (claim, apply and settle in one transaction) over the sink schema
   * `sinkSchema` of this same database, or undefined when that schema's apply_batch is not installed here.
   */
  async oneStatementWith(sinkSchema: string): Promise<PostgresOneStatementBatches | undefined> {
    checkSqlIdentifier(sinkSchema);
    const { rows } = await this.pool.query<{ ok: boolean }>("SELECT to_regprocedure($1) IS NOT NULL AS ok", [
      `"${sinkSchema}".apply_batch(jsonb)`,
    ]);
    return rows[0]?.ok ? new PostgresOneStatementBatches(this.pool, this.schema, sinkSchema) : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
