-- Settling an event wrote its outcome into the `event` jsonb: (event - 'lastError') ||
-- jsonb_build_object('outcome', …, 'completedAt', …) || …, which takes the whole jsonb apart and
-- builds it again for every event settled. The settle
-- fields become plain columns, as the lease fields did in 002: outcome, completedAt,
-- appliedVersion, deadAt and lastError. The store puts them back into the events it returns.
-- Nullable columns without a default: adding them rewrites nothing; the UPDATE below moves the
-- values of the events that have any.
ALTER TABLE @schema@.events
  ADD COLUMN outcome text,
  ADD COLUMN completed_at double precision,
  ADD COLUMN applied_version bigint,
  ADD COLUMN dead_at double precision,
  ADD COLUMN last_error text;

-- Only values of the right type move (a number for the times, a whole number for the version, a
-- string for the others); any other value stays in `event` and reads back as it was.
UPDATE @schema@.events e
SET outcome = CASE WHEN m.outcome THEN e.event->>'outcome' END,
    completed_at = CASE WHEN m.completed_at THEN (e.event->'completedAt')::double precision END,
    applied_version = CASE WHEN m.applied_version THEN (e.event->'appliedVersion')::bigint END,
    dead_at = CASE WHEN m.dead_at THEN (e.event->'deadAt')::double precision END,
    last_error = CASE WHEN m.last_error THEN e.event->>'lastError' END,
    event = e.event - ARRAY(
      SELECT v.k FROM (VALUES ('outcome', m.outcome), ('completedAt', m.completed_at), ('appliedVersion', m.applied_version),
                              ('deadAt', m.dead_at), ('lastError', m.last_error)) v(k, moved)
      WHERE v.moved)
FROM (
  SELECT x.id,
         coalesce(jsonb_typeof(x.event->'outcome') = 'string', false) AS outcome,
         coalesce(jsonb_typeof(x.event->'completedAt') = 'number', false) AS completed_at,
         coalesce(jsonb_typeof(x.event->'appliedVersion') = 'number' AND x.event->>'appliedVersion' ~ '^[0-9]{1,18}$', false) AS applied_version,
         coalesce(jsonb_typeof(x.event->'deadAt') = 'number', false) AS dead_at,
         coalesce(jsonb_typeof(x.event->'lastError') = 'string', false) AS last_error
  FROM @schema@.events x
  WHERE x.event ?| '{outcome,completedAt,appliedVersion,deadAt,lastError}'::text[]
) m
WHERE e.id = m.id;
