-- The common batch read through typed columns: typed_batch (one jsonpath over the batch) says
-- whether every field parse_events reads as a typed column has its JSON type, and parse_events
-- (a second version, with the arguments 005's apply_batch passes) then reads the fields straight
-- into their SQL types instead of as jsonb checked one by one, which is cheaper.
-- The version from 002 stays until 005 replaces apply_batch.

-- Whether parse_events may read `events` through typed columns (its fast path): every element is
-- an object whose id, entity and entityId are strings, timestamp a number, clientId a string or
-- null, seq and baseVersion numbers or null, wherever present (missing fields read as NULL either
-- way). One jsonpath over the batch.
CREATE FUNCTION @schema@.typed_batch(events jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT NOT jsonb_path_exists(events, '$[*] ? (@.type() != "object" || @.id.type() != "string"
           || @.entity.type() != "string" || @.entityId.type() != "string" || @.timestamp.type() != "number"
           || (@.clientId.type() != "string" && @.clientId.type() != "null")
           || (@.seq.type() != "number" && @.seq.type() != "null")
           || (@.baseVersion.type() != "number" && @.baseVersion.type() != "null"))')
$fn$;

-- The events of a batch as typed rows with their validation result (NULL reason: valid). not_obj:
-- positions that were not JSON objects (the caller replaced them by {}); rep_ids / rep_first: the
-- event ids that occur more than once and the position of each one's first occurrence (usually
-- empty); repeat: the event id occurred earlier in the batch; fast: typed_batch(events) holds, so
-- the fields are read straight into their SQL types; otherwise they are read as jsonb and their
-- JSON types checked one by one (slower: scalars are read as jsonb first). Both
-- paths give the same rows (tests/property/parse-events.test.ts). raw_entity / raw_rid: the text
-- given when entity / rid is NULL (for the audit log). A single-SELECT SQL function, so it is
-- inlined into the calling statement's plan.
CREATE FUNCTION @schema@.parse_events(events jsonb, not_obj int[], max_bytes bigint, rep_ids text[], rep_first int[],
                                      fast boolean)
RETURNS TABLE (idx int, eid text, op text, entity text, raw_entity text, rid text, raw_rid text, payload jsonb,
               ts float8, client text, seq bigint, base bigint, coalesced jsonb, tbl text, kind text, col text,
               dyn boolean, reason text, repeat boolean)
LANGUAGE sql STABLE AS $fn$
  SELECT p.idx, p.eid, p.op, reg.name, CASE WHEN reg.name IS NULL THEN left(p.ent_text, 200) END,
         p.rid, CASE WHEN p.rid IS NULL THEN left(p.rid_text, 500) END, p.payload,
         p.ts, p.client, p.seq, p.base, p.coalesced, reg.table_name, reg.kind, reg.data_column, NOT reg.builtin,
         CASE
           WHEN p.idx = ANY ($2) THEN 'event: expected a JSON object'
           WHEN p.eid IS NULL OR p.eid = '' OR length(p.eid) > 200 THEN 'id: expected a string of 1 to 200 characters'
           WHEN p.op IS NULL OR p.op NOT IN ('add', 'remove', 'update') THEN 'type: expected add, remove or update'
           WHEN NOT p.ent_str THEN 'entity: expected a string'
           WHEN reg.name IS NULL THEN 'entity: unknown entity "' || left(p.ent_text, 100) || '"'
           WHEN p.rid IS NULL OR p.rid = '' OR length(p.rid) > 500 THEN 'entityId: expected a string of 1 to 500 characters'
           WHEN jsonb_typeof(p.payload) IS DISTINCT FROM 'object' THEN 'payload: expected a JSON object'
           WHEN p.ts IS NULL THEN 'timestamp: expected a number (epoch ms)'
           WHEN NOT p.client_ok OR length(p.client) > 200 THEN 'clientId: expected a string of at most 200 characters'
           WHEN p.seq_given AND p.seq IS NULL THEN 'seq: expected a non-negative integer'
           WHEN p.base_given AND p.base IS NULL THEN 'baseVersion: expected a non-negative integer'
           WHEN p.coalesced IS NOT NULL AND CASE WHEN jsonb_typeof(p.coalesced) <> 'array' THEN true ELSE EXISTS (
                     SELECT 1 FROM jsonb_array_elements(p.coalesced) c
                      WHERE jsonb_typeof(c) <> 'string' OR length(c #>> '{}') NOT BETWEEN 1 AND 200) END
             THEN 'coalesced: expected a list of event ids'
           WHEN reg.kind = 'entries' AND jsonb_typeof(p.payload -> 'id') IS DISTINCT FROM 'string'
             THEN 'payload.id: expected a string (the entry id)'
           WHEN pg_column_size(p.payload) > $3 / 8 AND octet_length(p.payload::text) > $3
             THEN format('payload: %s bytes of JSON is over the limit of %s bytes', octet_length(p.payload::text), $3)
         END,
         p.repeat
    FROM (SELECT q.*, coalesce(q.idx > $5[array_position($4, q.eid)], false) AS repeat FROM (
          -- fast: typed columns (a missing field is NULL, as below)
          SELECT x.ord::int AS idx, x.id AS eid, x.type AS op, x.entity AS ent_text, x.entity IS NOT NULL AS ent_str,
                 x."entityId" AS rid, x."entityId" AS rid_text, x.payload, x."timestamp" AS ts, x."clientId" AS client,
                 true AS client_ok, x.seq IS NOT NULL AS seq_given,
                 CASE WHEN x.seq BETWEEN 0 AND 9e18 AND x.seq = trunc(x.seq) THEN x.seq::bigint END AS seq,
                 x."baseVersion" IS NOT NULL AS base_given,
                 CASE WHEN x."baseVersion" BETWEEN 0 AND 9e18 AND x."baseVersion" = trunc(x."baseVersion")
                      THEN x."baseVersion"::bigint END AS base,
                 nullif(x.coalesced, 'null'::jsonb) AS coalesced
            FROM ROWS FROM (jsonb_to_recordset($1) AS (id text, type text, entity text, "entityId" text, payload jsonb,
                                                       "timestamp" float8, "clientId" text, seq numeric, "baseVersion" numeric,
                                                       coalesced jsonb))
                 WITH ORDINALITY AS x(id, type, entity, "entityId", payload, "timestamp", "clientId", seq, "baseVersion",
                                      coalesced, ord)
           WHERE $6
          UNION ALL
          -- exact: any JSON in any field
          SELECT x.ord::int,
                 CASE WHEN jsonb_typeof(x.id) = 'string' THEN x.id #>> '{}' END,
                 x.type, x.entity #>> '{}', coalesce(jsonb_typeof(x.entity) = 'string', false),
                 CASE WHEN jsonb_typeof(x."entityId") = 'string' THEN x."entityId" #>> '{}' END, x."entityId" #>> '{}',
                 x.payload,
                 CASE WHEN jsonb_typeof(x."timestamp") = 'number' THEN x."timestamp"::float8 END,
                 CASE WHEN jsonb_typeof(x."clientId") = 'string' THEN x."clientId" #>> '{}' END,
                 coalesce(jsonb_typeof(x."clientId"), 'null') IN ('string', 'null'),
                 nullif(x.seq, 'null'::jsonb) IS NOT NULL,
                 CASE WHEN jsonb_typeof(x.seq) <> 'number' THEN NULL
                      WHEN x.seq::numeric BETWEEN 0 AND 9e18 AND x.seq::numeric = trunc(x.seq::numeric)
                      THEN x.seq::numeric::bigint END,
                 nullif(x."baseVersion", 'null'::jsonb) IS NOT NULL,
                 CASE WHEN jsonb_typeof(x."baseVersion") <> 'number' THEN NULL
                      WHEN x."baseVersion"::numeric BETWEEN 0 AND 9e18 AND x."baseVersion"::numeric = trunc(x."baseVersion"::numeric)
                      THEN x."baseVersion"::numeric::bigint END,
                 nullif(x.coalesced, 'null'::jsonb)
            FROM ROWS FROM (jsonb_to_recordset($1) AS (id jsonb, type text, entity jsonb, "entityId" jsonb, payload jsonb,
                                                       "timestamp" jsonb, "clientId" jsonb, seq jsonb, "baseVersion" jsonb,
                                                       coalesced jsonb))
                 WITH ORDINALITY AS x(id, type, entity, "entityId", payload, "timestamp", "clientId", seq, "baseVersion",
                                      coalesced, ord)
           WHERE NOT $6
          OFFSET 0) q) p  -- (a barrier: the columns above are computed once per event)
    LEFT JOIN @schema@.entities reg ON p.ent_str AND reg.name = p.ent_text
  OFFSET 0  -- a barrier: each column is computed once, however often the caller uses it
$fn$;
