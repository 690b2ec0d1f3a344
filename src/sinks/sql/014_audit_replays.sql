-- Replays in the audit log: who moved which events back to pending (`queue replay`, POST /v1/retry),
-- next to the decisions the drain then made for the same events. One audit row per call, shaped as
-- apply_batch's (a decision per event in parallel arrays, here all 'replayed'), so the audit_log
-- view shows one line per event. `audit ls` reads the view.
--
-- items: [{"id", "entity"?, "entityId"?}], actor: who asked (the CLI's --actor or $USER, or the
-- control API's caller), reason: how (e.g. "queue replay"). Returns how many events were recorded.
CREATE FUNCTION @schema@.record_replays(items jsonb, actor text, reason text) RETURNS int
LANGUAGE plpgsql AS $fn$
DECLARE
  n int;
BEGIN
  IF jsonb_typeof(items) IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'record_replays: items must be a JSON array' USING ERRCODE = '22023';
  END IF;
  IF EXISTS (SELECT 1 FROM jsonb_array_elements(items) x
              WHERE jsonb_typeof(x -> 'id') IS DISTINCT FROM 'string'
                 OR coalesce(jsonb_typeof(x -> 'entity'), 'string') <> 'string'
                 OR coalesce(jsonb_typeof(x -> 'entityId'), 'string') <> 'string') THEN
    RAISE EXCEPTION 'record_replays: each item must be {"id": text, "entity"?: text, "entityId"?: text}' USING ERRCODE = '22023';
  END IF;
  n := jsonb_array_length(items);
  IF n = 0 THEN
    RETURN 0;
  END IF;
  INSERT INTO @schema@.audit_records (batch_id, positions, event_ids, entities, entity_ids, decisions, versions, reasons, actors)
  SELECT gen_random_uuid(), array_agg((t.o - 1)::int ORDER BY t.o), array_agg(t.x ->> 'id' ORDER BY t.o),
         array_agg(t.x ->> 'entity' ORDER BY t.o), array_agg(t.x ->> 'entityId' ORDER BY t.o),
         array_agg('replayed'::text ORDER BY t.o), array_agg(NULL::bigint ORDER BY t.o),
         array_agg(left(reason, 1000) ORDER BY t.o), array_agg(left(actor, 200) ORDER BY t.o)
    FROM jsonb_array_elements(items) WITH ORDINALITY AS t(x, o);
  RETURN n;
END
$fn$;
