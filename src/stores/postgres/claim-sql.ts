/**
 * The claim statement of the Postgres queue store: one SQL statement (one round trip) that picks
 * the rows with the oldest due events, takes for each row the unbroken run of due events from its
 * first unfinished one (in row order: client_id, seq, ts, id), locks them with FOR UPDATE SKIP
 * LOCKED, keeps per row only what it locked without a gap, marks those processing under a lease
 * and appends the claim to each event's history (one UPDATE: nothing else is written).
 *
 * Why it is safe with many claimers (READ COMMITTED, one snapshot per statement):
 * 1. `win` reads the snapshot: the oldest due events (by ts, insertion). It only chooses which
 *    rows to look at, oldest first.
 * 2. `run` lists, for each of those rows, its unfinished events in row order from the first one
 *    and keeps the leading due ones: the row's events that may be handed out, numbered `rn`
 *    (at most about twice as many as the row had in the window, so a row whose order runs
 *    against time, e.g. one client's long backlog, cannot flood the claim). A row whose first
 *    unfinished event is not due (leased elsewhere, failed or pending until a later attempt)
 *    yields nothing. It notes where each event's row version is (ctid).
 * 3. `locked` locks them in order by that ctid, skipping events another claimer is locking right
 *    now. An event changed and committed since the snapshot (another claimer took it, its holder
 *    settled it) is re-checked by Postgres on its newest version (the id and due conditions are
 *    filters, which EvalPlanQual re-applies) and dropped if no longer due.
 * 4. `chosen` keeps an event only if every earlier event of its run was locked too. A worker that
 *    holds events of a row holds the row's first unfinished event, so any other claimer fails to
 *    lock that one and takes nothing of the row: two workers never hold events of one row at the
 *    same time, and a row's events are handed out in row order.
 * 5. `upd` updates the chosen versions by ctid; a version replaced since the snapshot is followed
 *    to the newest one, which this statement has locked, so nobody else changed it in between.
 */

import { appendHistory, eventColumns } from "./event-row.ts";

export interface ClaimParams {
  limit: number;
  leaseMs: number;
  now: number;
  owner: string;
}

/** How many candidates to read per claimed event: room to skip rows that others are locking. */
const WINDOW_FACTOR = 1.25;

export type Claimable = "pending" | "failed" | "processing";

/** When an event of `a` in the given status is due at $1 (now). */
export function due(a: string, status: Claimable): string {
  return status === "processing"
    ? `${a}.status = 'processing' AND (${a}.lease_until IS NULL OR ${a}.lease_until <= $1)`
    : `${a}.status = '${status}' AND (${a}.next_attempt_at IS NULL OR ${a}.next_attempt_at <= $1)`;
}

export function anyDue(a: string): string {
  return `((${due(a, "pending")}) OR (${due(a, "failed")}) OR (${due(a, "processing")}))`;
}

/** The row order of an event, as a row value. */
export function rowOrder(a: string): string {
  return `(${a}.client_id, ${a}.seq, ${a}.ts, ${a}.id)`;
}

/**
 * The body of `heads`: one row per entity row in the window `win`, with its last window event in
 * row order (client_id, seq, ts, id), `seen` (how many of its events the window holds) and where
 * its oldest window event stands (first_ts, first_pos), which orders the rows in a batch.
 */
export const HEADS = `
    SELECT entity, entity_id, first_ts, first_pos, client_id, seq, ts, id, seen
    FROM (
      SELECT w.entity, w.entity_id, w.client_id, w.seq, w.ts, w.id,
             count(*) OVER r AS seen,
             min(w.ts) OVER r AS first_ts,
             min(w.pos) OVER r AS first_pos,
             row_number() OVER (PARTITION BY w.entity, w.entity_id ORDER BY w.client_id DESC, w.seq DESC, w.ts DESC, w.id DESC) AS last
      FROM win w
      WINDOW r AS (PARTITION BY w.entity, w.entity_id)
    ) x
    WHERE last = 1
  `;

/**
 * `CROSS JOIN LATERAL (…) p`: for the row of `heads h` (its last window event and `seen`, how
 * many of its events the window holds), its unfinished events in row order up to that event, each
 * with its place `rn` in the row and `ok` = it and every earlier one are due; at most about twice
 * as many as the window held, so a row whose order runs against time cannot flood a claim.
 */
export function rowRun(events: string): string {
  return `CROSS JOIN LATERAL (
        SELECT u.id, u.ctid AS tid,
               row_number() OVER o AS rn,
               bool_and(${anyDue("u")}) OVER o AS ok
        FROM ${events} u
        WHERE u.entity = h.entity AND u.entity_id = h.entity_id
          AND u.status IN ('pending', 'processing', 'failed')
          AND ${rowOrder("u")} <= (h.client_id, h.seq, h.ts, h.id)
        WINDOW o AS (ORDER BY u.client_id, u.seq, u.ts, u.id)
        LIMIT 2 * h.seen + 8
      ) p`;
}

/**
 * The first $5 due events of one status, oldest first: a plain ordered scan of its partial index
 * (`run` probes these rows' heads only, so the planner cannot trade the index for a sort).
 */
function branch(table: string, status: Claimable): string {
  return `(SELECT e.entity, e.entity_id, e.client_id, e.seq, e.ts, e.id, e.pos FROM ${table} e
      WHERE ${due("e", status)}
      ORDER BY e.ts, e.pos LIMIT $5)`;
}

/**
 * The claim statement for `<schema>.events`; parameters: $1 now, $2 lease until, $3 owner,
 * $4 limit, $5 window (candidates read and events locked at most).
 * Every step is a scan of a CTE, a window function, or a per-row index probe forced by LATERAL:
 * no join whose plan depends on row estimates the planner cannot make for CTEs.
 */
export function claimSql(schema: string): string {
  const events = `"${schema}".events`;
  return `WITH due_now AS (
    SELECT * FROM (
      ${branch(events, "pending")}
      UNION ALL
      ${branch(events, "failed")}
      UNION ALL
      ${branch(events, "processing")}
    ) d
    ORDER BY d.ts, d.pos LIMIT $5
  ),
  win AS MATERIALIZED (
    SELECT d.* FROM due_now d
  ),
  heads AS MATERIALIZED (${HEADS}),
  run AS MATERIALIZED (
    SELECT id, tid, entity, entity_id, rn, ord FROM (
      SELECT p.id, p.tid, h.entity, h.entity_id, p.rn,
             row_number() OVER (ORDER BY h.first_ts, h.first_pos, h.entity, h.entity_id, p.rn) AS ord
      FROM heads h
      ${rowRun(events)}
      WHERE p.ok
    ) r
    WHERE ord <= $5
  ),
  locked AS MATERIALIZED (
    SELECT r.id, r.tid, r.entity, r.entity_id, r.rn, r.ord, (k.id IS NOT NULL) AS got
    FROM run r
    LEFT JOIN LATERAL (
      SELECT l.id FROM ${events} l
      WHERE l.ctid = r.tid AND l.id = r.id AND ${anyDue("l")}
      FOR UPDATE SKIP LOCKED
    ) k ON true
  ),
  chosen AS MATERIALIZED (
    SELECT tid FROM (
      SELECT x.*, row_number() OVER (ORDER BY x.ord) AS n FROM (
        SELECT k.*, bool_and(k.got) OVER (PARTITION BY k.entity, k.entity_id ORDER BY k.rn) AS unbroken
        FROM locked k
      ) x
      WHERE x.unbroken
    ) y
    WHERE n <= $4
  ),
  upd AS (
    UPDATE ${events} e
    SET status = 'processing', lease_until = $2, lease_owner = $3,
        history = ${appendHistory("e.history", {
          at: "$1",
          from: "e.status",
          to: "'processing'",
          note: `CASE WHEN e.status = 'processing'
                 THEN 'lease of ' || coalesce(e.lease_owner, '(no owner)') || ' expired; claimed by ' || $3::text
                 ELSE 'claimed by ' || $3::text END`,
        })}
    WHERE e.ctid = ANY (ARRAY(SELECT tid FROM chosen))
    RETURNING ${eventColumns("e")}, e.entity, e.entity_id, e.client_id, e.seq, e.ts, e.id
  )
  SELECT ${eventColumns("u")} FROM upd u
  ORDER BY min(u.ts) OVER (PARTITION BY u.entity, u.entity_id), u.entity, u.entity_id, u.client_id, u.seq, u.ts, u.id`;
}

/** Parameters for claimSql, in order. */
export function claimParams(p: ClaimParams): unknown[] {
  return [p.now, p.now + p.leaseMs, p.owner, p.limit, Math.ceil(p.limit * WINDOW_FACTOR)];
}
