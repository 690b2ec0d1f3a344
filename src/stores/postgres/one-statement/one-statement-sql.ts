/**
 * The one-statement drain's statement, for a queue and a sink in the same database: ONE statement (one round
 * trip, one transaction) that claims due events, applies them with the sink's
 * `<sink>.apply_batch(jsonb)` and settles them. Nothing is written to claim: the events stay locked
 * (FOR UPDATE) until the statement's transaction ends, and those locks are the lease. A crash or an
 * error rolls everything back, the claim included: nothing is ever half done.
 *
 * Claim (why it is safe with many claimers, one-statement or leasing, READ COMMITTED):
 * 0. `half`: the transaction takes one of two halves of the rows (by a hash of the row key) with a
 *    try-lock, the preferred one first (callers alternate it); when both are taken it starts
 *    with half 0 as if it held it (its row locks still skip what others hold). Two
 *    workers then lock disjoint rows' events instead of locking events of rows the other holds,
 *    which neither could use until the other commits (costing them more transactions and server
 *    CPU per event than one worker alone; see docs/postgres-queue.md). It only steers the choice:
 *    safety comes from the row locks below.
 * 1. `win_*` lock the oldest due events of each claimable status straight from its partial index,
 *    FOR UPDATE SKIP LOCKED with a LIMIT (pending ones of this half first, then of the other half
 *    if that left room): the scan walks past events another transaction holds
 *    (the leasing claim only ever held them for one short statement; here they stay locked for the
 *    whole apply, so choosing from a snapshot first, as claim-sql.ts does, would mostly find
 *    events that are locked). An event changed and committed since the snapshot is re-checked on
 *    its newest version (EvalPlanQual) and skipped if no longer due. The locked versions' columns
 *    are what is applied.
 * 2. `run` lists, for each row in the window, its unfinished events in row order from the first
 *    one up to the row's last window event (at most about twice as many as the window holds), and
 *    keeps the leading due ones. The row's first unfinished event need not be in the window (a
 *    row's order is the clients' order, not time order), so `locked` locks those of the run the
 *    window has not locked yet, FOR UPDATE SKIP LOCKED, re-checked as in step 1.
 * 3. `chosen` keeps an event only if every earlier event of its run is one this statement locked.
 *    A holder of a row's events holds the row's first unfinished event (as a lock here, or as a
 *    live lease of the leasing claim, which is not due and so not in any window): nobody else can
 *    take events of that row. Events of the window that are not kept stay locked until commit and
 *    are left as they were.
 *
 * Apply: the kept events go to apply_batch as stored (the wire fields are the event's own; the
 * store's extra fields are ignored by the server). No coalescing on this path: every event is a
 * wire event. An event whose payload must be prepared by the engine first (a browser export's
 * `$types` marks values that were `undefined`) is not sent, and neither are the later events of
 * its row: they are handed to the engine together, in order.
 *
 * Settle, one UPDATE for every kept event:
 * - applied / duplicate: completed (outcome, completedAt, appliedVersion), as the engine settles;
 * - rejected: dead with the server's reason, as the engine settles;
 * - anything else (a conflict, whose strategy runs in the engine; an event held back for the
 *   engine; an event without a result): processing under this owner's lease, returned with its
 *   result so the engine settles it on its normal path.
 * Each event's history gets one entry for the whole claim-apply-settle.
 */
import { HEADS, anyDue, due, rowRun, type Claimable } from "../claim-sql.ts";
import { appendHistory, eventColumnsJson, fieldColumns } from "../event-row.ts";

/**
 * How many candidates to lock per event wanted. The window's events of rows whose head another
 * transaction holds cannot be used, and stay locked (so unusable to that holder too) until this
 * transaction ends; every candidate locked and not kept is a lock written for nothing, and its
 * row is probed for nothing. With the halves, a worker rarely meets rows another holds: alone it
 * locks exactly the limit; when its last batch came back short (others hold rows), 1.25× the
 * limit. A larger window did not save round trips and cost server CPU per event.
 */
export const ONE_STATEMENT_WINDOW_FACTOR = { alone: 1, crowded: 1.25 } as const;

/**
 * Which half of the rows an event's row is in (0 or 1). The queue has statistics on this very
 * expression (003_row_half_stats.sql), so the planner knows half the events match a half.
 */
const rowHalf = (a: string) => `(hashtext(${a}.entity || ':' || ${a}.entity_id) & 1)`;

/**
 * Locks the oldest due events of one status, skipping those another transaction holds: `mine`,
 * only of the rows in this transaction's half (half 0 when it has none), `rest` of the other
 * half, as many as `mine` left room for. Each is an equality on the row's half, which the planner
 * can estimate: an ordered scan of the status's partial index that stops once the window is full.
 */
function windowOf(events: string, status: Claimable, part: "mine" | "rest" | "all"): string {
  const where =
    part === "mine"
      ? `AND ${rowHalf("e")} = (SELECT greatest(half, 0) FROM half)`
      : part === "rest"
        ? `AND ${rowHalf("e")} = (SELECT 1 - greatest(half, 0) FROM half)`
        : "";
  const limit = part === "rest" ? "greatest(0, $5 - (SELECT count(*) FROM win_mine))" : "$5";
  return `SELECT e.id, e.ctid AS tid, e.entity, e.entity_id, e.client_id, e.seq, e.ts, e.pos, e.event, e.status, e.lease_owner
    FROM ${events} e
    WHERE ${due("e", status)} ${where}
    ORDER BY e.ts, e.pos LIMIT ${limit}
    FOR UPDATE SKIP LOCKED`;
}

/**
 * True when the engine must prepare the event's payload before the server may see it: a
 * dexie-export `$types` map marking a payload value as `undefined` (see core/export-types.ts).
 */
function needsEngine(j: string): string {
  return `(jsonb_typeof(${j}->'$types') = 'object' AND EXISTS (
            SELECT 1 FROM jsonb_each_text(${j}->'$types') t WHERE t.value = 'undef' AND t.key LIKE 'payload.%'))`;
}

/**
 * The one-statement drain's statement over `<queueSchema>.events` and `<sinkSchema>.apply_batch`. Parameters:
 * $1 now, $2 lease until (for events handed to the engine), $3 owner, $4 limit, $5 window, $6 the
 * half of the rows to try first (0 or 1).
 * Returns one row: `sent`, the number of events the statement sent to apply_batch, and `events`, a
 * JSON array with one element per kept event, in the batch's order (rows by their oldest window
 * event, each row in row order): a settled event as `[id, kind ('completed' | 'dead'), outcome,
 * version, ts]`, an event handed to the engine as an object with `id, kind: 'engine', version,
 * ts`, the event's columns (event-row.ts) and its apply result (`result`, or null). One JSON value
 * instead of a row per event: decoding a row of 13 columns per event was a visible share of the
 * daemon's time per batch.
 */
export function oneStatementSql(queueSchema: string, sinkSchema: string): string {
  const events = `"${queueSchema}".events`;
  const newStatus = `CASE k.kind WHEN 'completed' THEN 'completed' WHEN 'dead' THEN 'dead' ELSE 'processing' END`;
  // the halves' advisory-lock key keeps this drain's former name ("fused"), so that daemons of an
  // earlier version draining the same queue during an upgrade still share the halves
  return `WITH half AS MATERIALIZED (
    SELECT coalesce((
      SELECT v.h FROM (VALUES ($6::int), (1 - $6::int)) v(h)
      WHERE pg_try_advisory_xact_lock(hashtext('${queueSchema}.fused_half'), v.h)
      LIMIT 1), -1) AS half
  ),
  win_mine AS MATERIALIZED (${windowOf(events, "pending", "mine")}),
  win_rest AS MATERIALIZED (${windowOf(events, "pending", "rest")}),
  win_failed AS MATERIALIZED (${windowOf(events, "failed", "all")}),
  win_expired AS MATERIALIZED (${windowOf(events, "processing", "all")}),
  win AS MATERIALIZED (
    SELECT w.* FROM (
      SELECT * FROM win_mine UNION ALL SELECT * FROM win_rest UNION ALL SELECT * FROM win_failed UNION ALL SELECT * FROM win_expired
    ) w
    ORDER BY w.ts, w.pos LIMIT $5
  ),
  heads AS MATERIALIZED (${HEADS}),
  run AS MATERIALIZED (
    SELECT p.id, p.tid, h.entity, h.entity_id, h.first_ts, h.first_pos, p.rn
    FROM heads h
    ${rowRun(events)}
    WHERE p.ok
  ),
  locked AS MATERIALIZED (
    SELECT r.entity, r.entity_id, r.first_ts, r.first_pos, r.rn,
           coalesce(w.id, k.id) AS id, coalesce(w.tid, k.tid) AS tid, coalesce(w.event, k.event) AS event,
           coalesce(w.status, k.status) AS status, coalesce(w.lease_owner, k.lease_owner) AS lease_owner
    FROM run r
    LEFT JOIN win w ON w.id = r.id
    LEFT JOIN LATERAL (
      SELECT l.id, l.ctid AS tid, l.event, l.status, l.lease_owner FROM ${events} l
      WHERE w.id IS NULL AND l.ctid = r.tid AND l.id = r.id AND ${anyDue("l")}
      FOR UPDATE SKIP LOCKED
    ) k ON true
  ),
  chosen AS MATERIALIZED (
    SELECT y.* FROM (
      SELECT x.*,
             row_number() OVER (ORDER BY x.first_ts, x.first_pos, x.entity, x.entity_id, x.rn) AS n,
             bool_or(x.prepare) OVER (PARTITION BY x.entity, x.entity_id ORDER BY x.rn) AS held
      FROM (
        SELECT k.*,
               bool_and(k.id IS NOT NULL) OVER (PARTITION BY k.entity, k.entity_id ORDER BY k.rn) AS unbroken,
               CASE WHEN k.id IS NULL THEN false ELSE ${needsEngine("k.event")} END AS prepare
        FROM locked k
      ) x
      WHERE x.unbroken
    ) y
    WHERE y.n <= $4
  ),
  batch AS MATERIALIZED (
    SELECT jsonb_agg(CASE WHEN c.event ? 'coalesced' THEN c.event - 'coalesced' ELSE c.event END ORDER BY c.n) AS events, array_agg(c.id ORDER BY c.n) AS ids
    FROM chosen c WHERE NOT c.held
  ),
  res AS MATERIALIZED (
    SELECT b.ids[r.i] AS id, r.value AS result
    FROM batch b
    CROSS JOIN LATERAL jsonb_array_elements(
      CASE WHEN b.events IS NULL THEN '[]'::jsonb ELSE "${sinkSchema}".apply_batch(b.events) END
    ) WITH ORDINALITY AS r(value, i)
  ),
  k AS MATERIALIZED (
    SELECT c.tid, c.id, c.n, c.status, c.lease_owner, s.result,
           CASE WHEN s.result->>'outcome' IN ('applied', 'duplicate') AND s.result->>'id' = c.id THEN 'completed'
                WHEN s.result->>'outcome' = 'rejected' AND s.result->>'id' = c.id THEN 'dead'
                ELSE 'engine' END AS kind,
           s.result->>'outcome' AS outcome,
           (s.result->'version')::bigint AS version
    FROM chosen c LEFT JOIN res s ON s.id = c.id
  ),
  upd AS (
    UPDATE ${events} e
    SET status = ${newStatus},
        lease_until = CASE WHEN k.kind = 'engine' THEN $2::double precision END,
        lease_owner = CASE WHEN k.kind = 'engine' THEN $3::text END,
        next_attempt_at = CASE WHEN k.kind = 'completed' THEN NULL ELSE e.next_attempt_at END,
        outcome = CASE k.kind WHEN 'completed' THEN k.outcome WHEN 'dead' THEN 'rejected' ELSE e.outcome END,
        completed_at = CASE WHEN k.kind = 'completed' THEN $1::double precision ELSE e.completed_at END,
        applied_version = CASE WHEN k.kind = 'completed' THEN coalesce(k.version, e.applied_version) ELSE e.applied_version END,
        dead_at = CASE WHEN k.kind = 'dead' THEN $1::double precision ELSE e.dead_at END,
        last_error = CASE k.kind WHEN 'completed' THEN NULL
          WHEN 'dead' THEN 'rejected: ' || coalesce(k.result->>'reason', 'no reason given')
          ELSE e.last_error END,
        history = ${appendHistory("e.history", {
          at: "$1::double precision",
          from: "e.status",
          to: newStatus,
          note: `CASE k.kind
            WHEN 'completed' THEN 'completed: ' || k.outcome || coalesce(' v' || k.version, '') || ' (claimed, applied and settled by ' || $3::text || ' in one transaction)'
            WHEN 'dead' THEN 'rejected: ' || coalesce(k.result->>'reason', 'no reason given')
            WHEN 'engine' THEN CASE WHEN e.status = 'processing'
                 THEN 'lease of ' || coalesce(e.lease_owner, '(no owner)') || ' expired; claimed by ' || $3::text
                 ELSE 'claimed by ' || $3::text END
            END`,
        })}
    FROM k
    WHERE e.ctid = k.tid
    RETURNING k.n, e.id, k.kind, k.version, e.ts,
              CASE WHEN k.kind = 'engine' THEN k.result END AS result,
              CASE WHEN k.kind = 'engine' THEN e.event END AS event, ${fieldColumns("e")}
  )
  SELECT (SELECT count(*) FROM res) AS sent,
         coalesce(json_agg(CASE WHEN u.kind = 'engine'
           THEN json_build_object('id', u.id, 'kind', u.kind, 'version', u.version, 'ts', u.ts,
                                  'result', u.result, 'event', u.event, ${eventColumnsJson("u")})
           ELSE json_build_array(u.id, u.kind, u.outcome, u.version, u.ts) END ORDER BY u.n), '[]') AS events
  FROM upd u`;
}

/** Parameters for oneStatementSql, in order; `crowded`: the last batch came back short; `half`: 0 or 1. */
export function oneStatementParams(p: { now: number; leaseMs: number; owner: string; limit: number }, crowded = false, half = 0): unknown[] {
  const factor = crowded ? ONE_STATEMENT_WINDOW_FACTOR.crowded : ONE_STATEMENT_WINDOW_FACTOR.alone;
  return [p.now, p.now + p.leaseMs, p.owner, p.limit, Math.ceil(p.limit * factor), half];
}
