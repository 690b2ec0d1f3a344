-- The lease fields (status, nextAttemptAt, leaseUntil, leaseOwner, attempts) become plain columns
-- that claim and settle write directly, and leave `event`: a claim or settle then rewrites five
-- small columns instead of the whole jsonb, and Postgres no longer re-derives every generated
-- column from the jsonb on each update. The row-order columns (entity … ts) become plain columns
-- too, written once from the event by enqueue/put. The store puts the lease fields back into the
-- event it returns.
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
  ALTER COLUMN ts DROP EXPRESSION;

UPDATE @schema@.events
SET event = event - '{status,nextAttemptAt,leaseUntil,leaseOwner,attempts}'::text[]
WHERE event ?| '{status,nextAttemptAt,leaseUntil,leaseOwner,attempts}'::text[];

-- a queue table turns over fast: vacuum it (and its claim indexes) early
ALTER TABLE @schema@.events SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
                                  autovacuum_analyze_scale_factor = 0.05);
