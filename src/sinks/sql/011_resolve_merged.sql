-- resolve_conflict, whole. `merged` is the complete value to store: the document, or for an entry
-- list the complete entry (its id must be the parked event's entry id); JSON null removes the row
-- or the entry. `expected_version`, when given, is the row version the caller computed its merge
-- on: if the row has moved since, nothing is written, so what a person approved is what is stored.
DROP FUNCTION @schema@.resolve_conflict(bigint, text, jsonb, text);

-- take: local (re-apply the parked event on the current row, last-writer-wins), remote (keep the
-- row, drop the event), merged (write `merged` as described above).
-- The event id is recorded in applied_events with outcome 'resolved', so a replay is a duplicate.
CREATE FUNCTION @schema@.resolve_conflict(conflict_id bigint, take text, merged jsonb, actor text,
                                          expected_version bigint DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
  c      record;
  kind   text;
  ev     jsonb;
  result jsonb;
  ver    bigint;
  now_v  bigint;
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
    RAISE EXCEPTION 'conflict % is already resolved (took %)', conflict_id, c.resolution USING ERRCODE = '55000';
  END IF;
  SELECT e.kind INTO kind FROM @schema@.entities e WHERE e.name = c.entity;

  IF take = 'remote' THEN
    ver := (@schema@.get_row(c.entity, c.entity_id) ->> 'version')::bigint;
    INSERT INTO @schema@.applied_events (event_id, client_id, seq, batch_id, outcome, version)
    VALUES (c.event_id, c.local ->> 'clientId',
            CASE WHEN jsonb_typeof(c.local -> 'seq') = 'number' THEN (c.local -> 'seq')::numeric::bigint END,
            gen_random_uuid(), 'resolved', ver)
    ON CONFLICT (event_id) DO NOTHING;
    result := jsonb_strip_nulls(jsonb_build_object('id', c.event_id, 'outcome', 'resolved', 'version', ver));
  ELSE
    ev := c.local - 'baseVersion' - 'coalesced';
    IF take = 'merged' THEN
      IF merged IS NULL OR jsonb_typeof(merged) NOT IN ('object', 'null') THEN
        RAISE EXCEPTION 'resolve_conflict: merged must be a JSON object (the whole document, or the whole entry for %) or null to remove it',
          c.entity USING ERRCODE = '22023';
      END IF;
      IF kind = 'entries' AND jsonb_typeof(merged) = 'object'
         AND (merged -> 'id') IS DISTINCT FROM (c.local -> 'payload' -> 'id') THEN
        RAISE EXCEPTION 'resolve_conflict: merged must be the entry with id %, got id %',
          c.local -> 'payload' -> 'id', coalesce(merged -> 'id', 'null'::jsonb) USING ERRCODE = '22023';
      END IF;
      IF expected_version IS NOT NULL THEN
        now_v := coalesce((@schema@.get_row(c.entity, c.entity_id) ->> 'version')::bigint, 0);
        IF now_v <> expected_version THEN
          RAISE EXCEPTION 'conflict %: the row %:% is now version %, the merge was computed on version %; show it again',
            conflict_id, c.entity, c.entity_id, now_v, expected_version USING ERRCODE = '55000';
        END IF;
      END IF;
      IF jsonb_typeof(merged) = 'object' THEN
        ev := ev || jsonb_build_object('type', 'add', 'payload', merged);
      ELSE
        ev := ev || jsonb_build_object('type', 'remove', 'payload',
                      CASE WHEN kind = 'entries' THEN jsonb_build_object('id', c.local -> 'payload' -> 'id') ELSE '{}'::jsonb END);
      END IF;
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
