-- Claim and settle write one row per event and as little of it as they can:
-- * The lease fields (status, nextAttemptAt, leaseUntil, leaseOwner, attempts) become plain
--   columns, set directly by claim and settle, and leave `event`: a status change no longer
--   rewrites the jsonb, and Postgres no longer re-derives every generated column on each update.
--   The row-order columns (entity … ts) become plain columns too, written once by enqueue/put.
--   The store puts the lease fields back into the events it returns.
-- * History moves into the event's row (`history`, a jsonb array, oldest first, newest 100
--   entries kept), appended by the same UPDATE that changes the status instead of an INSERT into
--   a second table with its own index.
ALTER TABLE @schema@.events
  ALTER COLUMN status DROP EXPRESSION,
  ALTER COLUMN next_attempt_at DROP EXPRESSION,
  ALTER COLUMN lease_until DROP EXPRESSION,
  ALTER COLUMN lease_owner DROP EXPRESSION,
  ALTER COLUMN attempts DROP EXPRESSION,
  ALTER COLUMN entity DROP EXPRESSION,
  ALTER COLUMN entity_id DROP EXPRESSION,
  ALTER COLUMN client_id DROP EXPRESSION,
  ALTER COLUMN seq DROP EXPRESSION,
  ALTER COLUMN ts DROP EXPRESSION,
  ADD COLUMN history jsonb NOT NULL DEFAULT '[]'::jsonb;

UPDATE @schema@.events e
SET event = e.event - '{status,nextAttemptAt,leaseUntil,leaseOwner,attempts}'::text[],
    history = coalesce((
      SELECT jsonb_agg(jsonb_build_object('at', r.at, 'from', r.from_status, 'to', r.to_status, 'note', r.note) ORDER BY r.hid)
      FROM (SELECT h.hid, h.at, h.from_status, h.to_status, h.note FROM @schema@.history h
            WHERE h.event_id = e.id ORDER BY h.hid DESC LIMIT 100) r
    ), '[]'::jsonb);

DROP TABLE @schema@.history;

-- a queue table turns over fast: vacuum it (and its claim indexes) early
ALTER TABLE @schema@.events SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
                                 autovacuum_analyze_scale_factor = 0.05);
