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
import { EVENT_STATUSES, parseEvent } from "../../core/event.ts";
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
import { PostgresFusedBatches } from "./fused-batches.ts";
import { decodeListCursor, encodeListCursor } from "./list-cursor.ts";
import { changesParam, updateSql } from "./update-sql.ts";
import {
  eventColumns,
  historyEntry,
  parseHistory,
  INSERT_COLUMNS,
  insertValues,
  rowToEvent,
  type EventRow,
} from "./event-row.ts";

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
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    readonly schema: string,
    private readonly clock: Clock,
  ) {
    this.events = `"${schema}".events`;
    this.claimText = claimSql(schema);
    this.updateText = updateSql(schema);
    this.bulkAnalyze = new BulkAnalyze(pool, this.events);
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

  async get(id: string): Promise<QueuedEvent | undefined> {
    return (await this.getMany([id]))[0];
  }

  async getMany(ids: string[]): Promise<(QueuedEvent | undefined)[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<EventRow & { id: string }>({
      name: `mudsync_q_get_${this.schema}`,
      text: `SELECT e.id, ${eventColumns("e")} FROM ${this.events} e WHERE e.id = ANY($1::text[])`,
      values: [ids],
    });
    const byId = new Map(rows.map((r) => [r.id, rowToEvent(r)]));
    return ids.map((id) => byId.get(id));
  }

  async list(query: ListQuery): Promise<ListPage> {
    if (!Number.isInteger(query.limit) || query.limit < 1) {
      throw new UsageError(`list limit ${query.limit}: expected a positive integer`);
    }
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (v: unknown) => {
      values.push(v);
      return `$${values.length}`;
    };
    if (query.entity !== undefined) where.push(`entity = ${param(query.entity)}`);
    if (query.since !== undefined) where.push(`ts >= ${param(query.since)}`);
    const desc = query.order === "desc";
    if (query.after !== undefined) {
      const at = decodeListCursor(query.after);
      where.push(`(ts, pos) ${desc ? "<" : ">"} (${param(at.ts)}::double precision, ${param(at.pos)}::bigint)`);
    }
    const dir = desc ? "DESC" : "ASC";
    const limit = param(query.limit + 1);
    const pageSql = (statusCond: string | undefined) => {
      const conds = statusCond ? [statusCond, ...where] : where;
      return `SELECT ${eventColumns("e")}, e.ts, e.pos FROM ${this.events} e
       ${conds.length > 0 ? `WHERE ${conds.join(" AND ")}` : ""}
       ORDER BY e.ts ${dir}, e.pos ${dir} LIMIT ${limit}`;
    };
    // one page per status, merged: a status given as a literal lets the claim's partial index
    // (pending, failed, processing) walk only its own events, where one scan in time order would
    // step over every settled event before them (the daemon asks for the head of a large queue often)
    const statuses = query.statuses === undefined ? undefined : [...new Set(query.statuses)];
    for (const s of statuses ?? []) {
      if (!EVENT_STATUSES.includes(s)) throw new UsageError(`list status "${String(s)}": expected one of ${EVENT_STATUSES.join(", ")}`);
    }
    const text =
      statuses === undefined
        ? pageSql(undefined)
        : statuses.length === 0
          ? pageSql("false")
          : `SELECT * FROM (${statuses.map((s) => `(${pageSql(`e.status = '${s}'`)})`).join(" UNION ALL ")}) u
             ORDER BY u.ts ${dir}, u.pos ${dir} LIMIT ${limit}`;
    const { rows } = await this.pool.query<EventRow & { ts: number; pos: string }>(text, values);
    const more = rows.length > query.limit;
    const page = more ? rows.slice(0, query.limit) : rows;
    const tail = page[page.length - 1];
    return { events: page.map(rowToEvent), next: more && tail ? encodeListCursor({ ts: tail.ts, pos: tail.pos }) : null };
  }

  async counts(): Promise<Record<EventStatus, number>> {
    const { rows } = await this.pool.query<{ status: EventStatus; n: string }>(
      `SELECT status, count(*) AS n FROM ${this.events} GROUP BY status`,
    );
    const out = Object.fromEntries(EVENT_STATUSES.map((s) => [s, 0])) as Record<EventStatus, number>;
    for (const r of rows) out[r.status] = Number(r.n);
    return out;
  }

  async *scan(batch = 500): AsyncIterable<QueuedEvent[]> {
    let after: string | null = null;
    for (;;) {
      const { rows }: { rows: (EventRow & { id: string })[] } = await this.pool.query({
        name: `mudsync_q_scan_${this.schema}`,
        text: `SELECT e.id, ${eventColumns("e")} FROM ${this.events} e WHERE $1::text IS NULL OR e.id > $1::text ORDER BY e.id LIMIT $2`,
        values: [after, batch],
      });
      if (rows.length === 0) return;
      yield rows.map(rowToEvent);
      if (rows.length < batch) return;
      after = rows[rows.length - 1]!.id;
    }
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

  async history(id: string): Promise<HistoryEntry[]> {
    const { rows } = await this.pool.query<{ history: string }>(`SELECT history FROM ${this.events} WHERE id = $1`, [id]);
    return parseHistory(rows[0]?.history ?? "").map((h) => historyEntry(id, h));
  }

  /**
   * The fused path (claim, apply and settle in one transaction) over the sink schema `sinkSchema`
   * of this same database, or undefined when that schema's apply_batch is not installed here.
   */
  async fusedWith(sinkSchema: string): Promise<PostgresFusedBatches | undefined> {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(sinkSchema)) {
      throw new UsageError(`schema "${sinkSchema}": expected a lower-case SQL identifier (letters, digits, _)`);
    }
    const { rows } = await this.pool.query<{ ok: boolean }>("SELECT to_regprocedure($1) IS NOT NULL AS ok", [
      `"${sinkSchema}".apply_batch(jsonb)`,
    ]);
    return rows[0]?.ok ? new PostgresFusedBatches(this.pool, this.schema, sinkSchema) : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
