/**
 * The claim statement of the Postgres queue store: one SQL statement (one round trip) that picks
 * due events in (timestamp, insertion) order, locks them with FOR UPDATE SKIP LOCKED, keeps per
 * row only an unbroken prefix of what it locked, marks those processing under a lease and records
 * the claim in the history.
 *
 * Why it is safe with many claimers (READ COMMITTED):
 * 1. `win` reads the statement snapshot: the first due events whose row has no earlier blocking
 *    event (processing under a live lease, failed or pending waiting for a later attempt).
 *    Within `win` every row's events form its earliest due events, so `rn` is their row order.
 * 2. `locked` locks them in order, skipping rows another claimer is locking right now. A row
 *    changed and committed since the snapshot (another claimer took it, its holder settled it)
 *    is re-checked on its newest version by Postgres and dropped if no longer due.
 * 3. `chosen` keeps an event only if every earlier event of its row in `win` was locked too.
 *    So whenever another worker holds (or just took) an event of a row, the first such event in
 *    our window fails to lock and everything after it in that row is left alone: two workers never
 *    hold events of one row at the same time, and a row's events are handed out in order.
 */

export interface ClaimParams {
  limit: number;
  leaseMs: number;
  now: number;
  owner: string;
}

/** How many candidates to read per claimed event: room to skip rows that others are locking. */
const WINDOW_FACTOR = 2;

type Claimable = "pending" | "failed" | "processing";

/** When an event of `alias` in the given status is due at $1 (now). */
function due(alias: string, status: Claimable): string {
  const a = alias;
  return status === "processing"
    ? `${a}.status = 'processing' AND (${a}.lease_until IS NULL OR ${a}.lease_until <= $1)`
    : `${a}.status = '${status}' AND (${a}.next_attempt_at IS NULL OR ${a}.next_attempt_at <= $1)`;
}

/** An earlier event of the same row that is unfinished and not due holds the row back. */
function notBlocked(table: string, alias: string): string {
  return `NOT EXISTS (
        SELECT 1 FROM ${table} b
        WHERE b.entity = ${alias}.entity AND b.entity_id = ${alias}.entity_id
          AND (b.ts, b.pos) < (${alias}.ts, ${alias}.pos)
          AND ((b.status = 'processing' AND b.lease_until > $1)
            OR (b.status = 'failed' AND b.next_attempt_at > $1)
            OR (b.status = 'pending' AND b.next_attempt_at > $1)))`;
}

/** The first $5 unblocked due events of one status, in order (served by its partial index). */
function branch(table: string, status: Claimable): string {
  return `(SELECT e.id, e.entity, e.entity_id, e.ts, e.pos FROM ${table} e
      WHERE ${due("e", status)} AND ${notBlocked(table, "e")}
      ORDER BY e.ts, e.pos LIMIT $5)`;
}

/** The claim statement for `<schema>.events`; parameters: now, lease until, owner, limit, window. */
export function claimSql(schema: string): string {
  const events = `"${schema}".events`;
  const history = `"${schema}".history`;
  return `WITH win AS MATERIALIZED (
    SELECT d.id, d.entity, d.entity_id, d.ts, d.pos,
           row_number() OVER (PARTITION BY d.entity, d.entity_id ORDER BY d.ts, d.pos) AS rn
    FROM (
      ${branch(events, "pending")}
      UNION ALL
      ${branch(events, "failed")}
      UNION ALL
      ${branch(events, "processing")}
    ) d
    ORDER BY d.ts, d.pos LIMIT $5
  ),
  locked AS MATERIALIZED (
    SELECT l.id, l.status AS from_status, l.lease_owner AS prev_owner
    FROM ${events} l
    WHERE l.id IN (SELECT id FROM win)
      AND ((${due("l", "pending")}) OR (${due("l", "failed")}) OR (${due("l", "processing")}))
    ORDER BY l.ts, l.pos
    LIMIT $4
    FOR UPDATE OF l SKIP LOCKED
  ),
  gap AS (
    SELECT w.entity, w.entity_id, min(w.rn) AS first_gap
    FROM win w LEFT JOIN locked k ON k.id = w.id
    WHERE k.id IS NULL
    GROUP BY w.entity, w.entity_id
  ),
  chosen AS (
    SELECT k.id, k.from_status, k.prev_owner
    FROM locked k
    JOIN win w ON w.id = k.id
    LEFT JOIN gap g ON g.entity = w.entity AND g.entity_id = w.entity_id
    WHERE g.first_gap IS NULL OR w.rn < g.first_gap
  ),
  upd AS (
    UPDATE ${events} e
    SET event = e.event || jsonb_build_object('status', 'processing', 'leaseUntil', $2::numeric, 'leaseOwner', $3::text)
    FROM chosen c
    WHERE e.id = c.id
    RETURNING e.id, e.event, e.ts, e.pos, c.from_status, c.prev_owner
  ),
  hist AS (
    INSERT INTO ${history} (event_id, at, from_status, to_status, note)
    SELECT u.id, $1, u.from_status, 'processing',
           CASE WHEN u.from_status = 'processing'
                THEN 'lease of ' || coalesce(u.prev_owner, '(no owner)') || ' expired; claimed by ' || $3::text
                ELSE 'claimed by ' || $3::text END
    FROM upd u
  )
  SELECT event FROM upd ORDER BY ts, pos`;
}

/** Parameters for claimSql, in order. */
export function claimParams(p: ClaimParams): unknown[] {
  return [p.now, p.now + p.leaseMs, p.owner, p.limit, p.limit * WINDOW_FACTOR];
}
