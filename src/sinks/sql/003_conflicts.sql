-- Parking and resolving conflicts. park_conflicts stores events that lost a version check (with
-- the row they lost against); resolve_conflict applies the chosen side atomically and audits it.

-- items: [{"event": {…wire event…}, "current": {…row…} | null}] -> [{"conflictId", "eventId"}]
-- Idempotent: an event that already has an open conflict keeps it.
CREATE FUNCTION @schema@.park_conflicts(items jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
  sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  out jsonb;
BEGIN
  IF jsonb_typeof(items) IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'park_conflicts: items must be a JSON array' USING ERRCODE = '22023';
  END IF;
  IF EXISTS (SELECT 1 FROM jsonb_array_elements(items) x
              WHERE jsonb_typeof(x -> 'event') IS DISTINCT FROM 'object'
                 OR jsonb_typeof(x -> 'event' -> 'id') IS DISTINCT FROM 'string'
                 OR jsonb_typeof(x -> 'event' -> 'entity') IS DISTINCT FROM 'string'
                 OR jsonb_typeof(x -> 'event' -> 'entityId') IS DISTINCT FROM 'string'
                 OR coalesce(jsonb_typeof(x -> 'current'), 'null') NOT IN ('object', 'null')) THEN
    RAISE EXCEPTION 'park_conflicts: each item must be {"event": {id, entity, entityId, …}, "current": row or null}'
      USING ERRCODE = '22023';
  END IF;

  WITH ins AS (
    INSERT INTO @schema@.conflicts (event_id, entity, entity_id, base_version, current_version, local, remote, created_by)
    SELECT x -> 'event' ->> 'id', x -> 'event' ->> 'entity', x -> 'event' ->> 'entityId',
           CASE WHEN jsonb_typeof(x -> 'event' -> 'baseVersion') = 'number' THEN (x -> 'event' -> 'baseVersion')::numeric::bigint END,
           CASE WHEN jsonb_typeof(x -> 'current' -> 'version') = 'number' THEN (x -> 'current' -> 'version')::numeric::bigint END,
           x -> 'event', nullif(x -> 'current', 'null'::jsonb),
           coalesce(sub, CASE WHEN jsonb_typeof(x -> 'event' -> 'clientId') = 'string' THEN x -> 'event' ->> 'clientId' END)
      FROM jsonb_array_elements(items) x
    ON CONFLICT (event_id) WHERE status = 'open' DO NOTHING
    RETURNING id, event_id, entity, entity_id, base_version, current_version, created_by
  )
  INSERT INTO @schema@.audit_log (event_id, entity, entity_id, decision, version, reason, actor)
  SELECT event_id, entity, entity_id, 'parked', current_version,
         format('conflict %s: baseVersion %s, row version %s', id, coalesce(base_version::text, 'none'),
                coalesce(current_version::text, 'none (row missing)')), created_by
    FROM ins;

  SELECT jsonb_agg(jsonb_build_object('conflictId', c.id, 'eventId', c.event_id) ORDER BY x.ord) INTO out
    FROM jsonb_array_elements(items) WITH ORDINALITY x(it, ord)
    JOIN @schema@.conflicts c ON c.event_id = x.it -> 'event' ->> 'id' AND c.status = 'open';
  RETURN coalesce(out, '[]'::jsonb);
END
$fn$;

-- take: local (re-apply the parked event on the current row, last-writer-wins), remote (keep the
-- row, drop the event), merged (write `merged` as the document, or as the entry for entries kinds).
-- The event id is recorded in applied_events with outcome 'resolved', so a replay is a duplicate.
CREATE FUNCTION @schema@.resolve_conflict(conflict_id bigint, take text, merged jsonb, actor text) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
  c      record;
  ev     jsonb;
  result jsonb;
  ver    bigint;
BEGIN
  IF take IS NULL OR take NOT IN ('local', 'remote', 'merged') THEN
    RAISE EXCEPTION 'resolve_conflict: take must be local, remote or merged, got %', coalesce(take, 'null')
      USING ERRCODE = '22023';
  END IF;
  SELECT * INTO c FROM @schema@.conflicts WHERE id = conflict_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'conflict % does not exist', conflict_id USING ERRCODE = 'P0002';
  END IF;
  IF c.status <> 'open' THEN
    RAISE EXCEPTION 'conflict % is already resolved (%)', conflict_id, c.resolution USING ERRCODE = '55000';
  END IF;

  IF take = 'remote' THEN
    ver := (@schema@.get_row(c.entity, c.entity_id) ->> 'version')::bigint;
    INSERT INTO @schema@.applied_events (event_id, client_id, seq, batch_id, outcome, version)
    VALUES (c.event_id, c.local ->> 'clientId',
            CASE WHEN jsonb_typeof(c.local -> 'seq') = 'number' THEN (c.local -> 'seq')::numeric::bigint END,
            gen_random_uuid(), 'resolved', ver)
    ON CONFLICT (event_id) DO NOTHING;
    result := jsonb_strip_nulls(jsonb_build_object('id', c.event_id, 'outcome', 'resolved', 'version', ver));
  ELSE
    IF take = 'merged' AND jsonb_typeof(merged) IS DISTINCT FROM 'object' THEN
      RAISE EXCEPTION 'resolve_conflict: merged must be a JSON object (the document, or the entry for %)', c.entity
        USING ERRCODE = '22023';
    END IF;
    ev := c.local - 'baseVersion' - 'coalesced';
    IF take = 'merged' THEN
      ev := ev || jsonb_build_object('type', 'add', 'payload', merged);
    END IF;
    result := @schema@.apply_batch(jsonb_build_array(ev)) -> 0;
    IF result ->> 'outcome' = 'rejected' THEN
      RAISE EXCEPTION 'resolve_conflict: conflict % cannot be applied: %', conflict_id, result ->> 'reason'
        USING ERRCODE = '22023';
    END IF;
    ver := (result ->> 'version')::bigint;
    UPDATE @schema@.applied_events SET outcome = 'resolved' WHERE event_id = c.event_id;
  END IF;

  UPDATE @schema@.conflicts
     SET status = 'resolved', resolution = take, merged = CASE WHEN take = 'merged' THEN resolve_conflict.merged END,
         resolved_at = now(), resolved_by = actor
   WHERE id = conflict_id;
  INSERT INTO @schema@.audit_log (event_id, entity, entity_id, decision, version, reason, actor)
  VALUES (c.event_id, c.entity, c.entity_id, 'resolved', ver, format('conflict %s resolved: %s', conflict_id, take), actor);

  RETURN jsonb_build_object('conflictId', conflict_id, 'eventId', c.event_id, 'take', take, 'result', result,
                            'row', @schema@.get_row(c.entity, c.entity_id));
END
$fn$;
