/**
 * The read paths of the shared Postgres queue (get, list, counts, scan, history), over any
 * queryable: the store's pool, or the one read-only transaction of a queue reader (queue-reader.ts).
 * Every read is paged by an index: list walks `events_list (ts, pos)` or the per-status partial
 * indexes with a keyset cursor, scan walks the primary key `id` in batches; nothing reads the
 * whole queue into memory.
 */
import type pg from "pg";
import type { EventStatus, QueuedEvent } from "../../core/event.ts";
import { EVENT_STATUSES, inFieldOrder } from "../../core/event.ts";
import type { HistoryEntry, ListPage, ListQuery } from "../../core/ports.ts";
import { UsageError } from "../../errors.ts";
import { eventColumns, historyEntry, parseHistory, rowToEvent, type EventRow } from "./event-row.ts";
import { decodeListCursor, encodeListCursor } from "./list-cursor.ts";

/** What the reads need of node-postgres: a pool or a single client. */
export type PgQueryable = Pick<pg.Pool, "query">;

/** A row read back as an event, its fields in the schema's order (jsonb keeps keys by length). */
function readEvent(r: EventRow): QueuedEvent {
  return inFieldOrder(rowToEvent(r));
}

export class PostgresQueueReads {
  private readonly events: string;

  constructor(
    private readonly db: PgQueryable,
    private readonly schema: string,
  ) {
    this.events = `"${schema}".events`;
  }

  async get(id: string): Promise<QueuedEvent | undefined> {
    return (await this.getMany([id]))[0];
  }

  async getMany(ids: string[]): Promise<(QueuedEvent | undefined)[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.db.query<EventRow & { id: string }>({
      name: `mudsync_q_get_${this.schema}`,
      text: `SELECT e.id, ${eventColumns("e")} FROM ${this.events} e WHERE e.id = ANY($1::text[])`,
      values: [ids],
    });
    const byId = new Map(rows.map((r) => [r.id, readEvent(r)]));
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
    // unnamed: planned for the actual cursor and filters each time
    const { rows } = await this.db.query<EventRow & { ts: number; pos: string }>(text, values);
    const more = rows.length > query.limit;
    const page = more ? rows.slice(0, query.limit) : rows;
    const tail = page[page.length - 1];
    return { events: page.map(readEvent), next: more && tail ? encodeListCursor({ ts: tail.ts, pos: tail.pos }) : null };
  }

  async counts(): Promise<Record<EventStatus, number>> {
    const { rows } = await this.db.query<{ status: EventStatus; n: string }>(
      `SELECT status, count(*) AS n FROM ${this.events} GROUP BY status`,
    );
    const out = Object.fromEntries(EVENT_STATUSES.map((s) => [s, 0])) as Record<EventStatus, number>;
    for (const r of rows) out[r.status] = Number(r.n);
    return out;
  }

  /**
   * Every event in id order, `batch` at a time, each batch a range of the primary key after the
   * last id. The first batch and the others are separate statements: a single prepared statement
   * with `$1 IS NULL OR id > $1` may get a generic plan whose index scan starts at the first id
   * every time and filters its way to the range (quadratic over a large queue).
   */
  async *scan(batch = 500): AsyncIterable<QueuedEvent[]> {
    if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`scan batch must be an integer >= 1, got ${batch}`);
    let after: string | null = null;
    for (;;) {
      const { rows }: { rows: (EventRow & { id: string })[] } = await this.db.query<EventRow & { id: string }>(
        after === null
          ? {
              name: `mudsync_q_scan_first_${this.schema}`,
              text: `SELECT e.id, ${eventColumns("e")} FROM ${this.events} e ORDER BY e.id LIMIT $1`,
              values: [batch],
            }
          : {
              name: `mudsync_q_scan_after_${this.schema}`,
              text: `SELECT e.id, ${eventColumns("e")} FROM ${this.events} e WHERE e.id > $1::text ORDER BY e.id LIMIT $2`,
              values: [after, batch],
            },
      );
      if (rows.length === 0) return;
      yield rows.map(readEvent);
      if (rows.length < batch) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  async history(id: string): Promise<HistoryEntry[]> {
    const { rows } = await this.db.query<{ history: string }>(`SELECT history FROM ${this.events} WHERE id = $1`, [id]);
    return parseHistory(rows[0]?.history ?? "").map((h) => historyEntry(id, h));
  }
}
