-- apply_batch(events jsonb) returns jsonb: one batch, one transaction, one round trip.
-- 1. parse: jsonb_to_recordset reads the batch once into typed fields; validation works on those
--    (an event that is not a JSON object is set aside first, so it cannot fail the parse);
-- 2. lock: every row key hashes to an advisory lock bucket. Per table, a batch with at most
--    `lock_table_above` events on it takes a shared lock on the table's key, then its buckets in
--    ascending order; a batch with more takes one exclusive lock on the table's key instead (two
--    such batches would almost surely share a bucket anyway, and one lock replaces hundreds).
--    Table keys are always taken before bucket keys, each in ascending order: no deadlocks;
-- 3. one query finds duplicates, reads the current rows and decides every row with a single live
--    event (the common case) set-based; rows with several events (and registry-added entities)
--    are folded in a loop, in (table, id, clientId, seq, timestamp, event id) order;
-- 4. writes: one set-based statement per built-in table and kind of write (static SQL; dynamic
--    SQL only for registry-added entities). Inserts are ON CONFLICT DO NOTHING and every write
--    returns the ids it wrote: a row that was not written is one row-level security hides from
--    this user (the key exists but is invisible, or the UPDATE/DELETE policy filters it out), and
--    its events become `rejected` instead of failing the batch;
-- 5. the ledger (applied_events, a narrow row per applied event id, coalesced ids included) and
--    the audit log (one row per decision) are one INSERT each; the result is one jsonb_agg.
-- Requires READ COMMITTED (the default), so the read after the locks sees committed writes.

-- One parsed event of a batch (internal to apply_batch).
CREATE TYPE @schema@.batch_event AS (
  idx int, eid text, op text, entity text, rid text, payload jsonb, ts float8, client text, seq bigint,
  base bigint, coalesced jsonb, tbl text, kind text, col text, dyn boolean, reason text, repeat boolean
);

-- One step of the fold for an entries row (chart data_source_config): returns the new list, or
-- NULL when nothing changes (remove of a missing entry).
CREATE FUNCTION @schema@.fold_entries(entries jsonb, op text, payload jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
  pos int;
BEGIN
  SELECT i - 1 INTO pos FROM jsonb_array_elements(entries) WITH ORDINALITY a(x, i)
   WHERE x ->> 'id' = payload ->> 'id' ORDER BY i LIMIT 1;
  IF op = 'remove' THEN
    RETURN CASE WHEN pos IS NULL THEN NULL ELSE entries - pos END;
  ELSIF pos IS NULL THEN
    RETURN entries || jsonb_build_array(payload);
  ELSIF op = 'add' THEN
    RETURN jsonb_set(entries, ARRAY[pos::text], payload);
  ELSE
    RETURN jsonb_set(entries, ARRAY[pos::text], (entries -> pos) || payload);
  END IF;
END
$fn$;

-- Writes one folded row of a registry-added entity (dynamic SQL; table names from the registry).
CREATE FUNCTION @schema@.write_row(tbl text, col text, rid text, existed boolean, exists_now boolean,
                                   data jsonb, ver bigint, by text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  s text := @schema_text@;
BEGIN
  IF exists_now AND existed THEN
    EXECUTE format('UPDATE %I.%I SET %I = $2, version = $3, updated_at = now(), updated_by = $4 WHERE id = $1', s, tbl, col)
      USING rid, data, ver, by;
  ELSIF exists_now THEN
    EXECUTE format('INSERT INTO %I.%I (id, %I, version, updated_by) VALUES ($1, $2, $3, $4)', s, tbl, col)
      USING rid, data, ver, by;
  ELSIF existed THEN
    PERFORM set_config('mudsync.deleted_by', jsonb_build_object(rid, by)::text, true);
    EXECUTE format('DELETE FROM %I.%I WHERE id = $1', s, tbl) USING rid;
  END IF;
END
$fn$;

-- Reads a batch once (jsonb_to_recordset) into typed events with their validation result; the
-- positions in not_obj were not JSON objects (the caller replaced them by {}).
-- (plpgsql, not sql: its plan is then cached for the session instead of made on every call)
CREATE FUNCTION @schema@.parse_batch(events jsonb, not_obj int[], max_bytes bigint) RETURNS @schema@.batch_event[]
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $fn$
BEGIN
  RETURN (SELECT array_agg(ROW(p.idx, p.eid, p.op, reg.name, p.rid, p.payload, p.ts, p.client, p.seq, p.base, p.coalesced,
                       reg.table_name, reg.kind, reg.data_column, NOT reg.builtin,
                       CASE
                         WHEN p.idx = ANY (parse_batch.not_obj) THEN 'event: expected a JSON object'
                         WHEN p.eid IS NULL OR p.eid = '' OR length(p.eid) > 200 THEN 'id: expected a string of 1 to 200 characters'
                         WHEN p.op IS NULL OR p.op NOT IN ('add', 'remove', 'update') THEN 'type: expected add, remove or update'
                         WHEN jsonb_typeof(p.j_entity) IS DISTINCT FROM 'string' THEN 'entity: expected a string'
                         WHEN reg.name IS NULL THEN 'entity: unknown entity "' || left(p.j_entity #>> '{}', 100) || '"'
                         WHEN p.rid IS NULL OR p.rid = '' OR length(p.rid) > 500
                           THEN 'entityId: expected a string of 1 to 500 characters'
                         WHEN jsonb_typeof(p.payload) IS DISTINCT FROM 'object' THEN 'payload: expected a JSON object'
                         WHEN p.ts IS NULL THEN 'timestamp: expected a number (epoch ms)'
                         WHEN coalesce(jsonb_typeof(p.j_client), 'null') NOT IN ('string', 'null') OR length(p.client) > 200
                           THEN 'clientId: expected a string of at most 200 characters'
                         WHEN p.j_seq IS NOT NULL AND p.seq IS NULL THEN 'seq: expected a non-negative integer'
                         WHEN p.j_base IS NOT NULL AND p.base IS NULL THEN 'baseVersion: expected a non-negative integer'
                         WHEN p.coalesced IS NOT NULL AND CASE WHEN jsonb_typeof(p.coalesced) <> 'array' THEN true ELSE EXISTS (
                                   SELECT 1 FROM jsonb_array_elements(p.coalesced) c
                                    WHERE jsonb_typeof(c) <> 'string' OR length(c #>> '{}') NOT BETWEEN 1 AND 200) END
                           THEN 'coalesced: expected a list of event ids'
                         WHEN reg.kind = 'entries' AND jsonb_typeof(p.payload -> 'id') IS DISTINCT FROM 'string'
                           THEN 'payload.id: expected a string (the entry id)'
                         WHEN pg_column_size(p.payload) > parse_batch.max_bytes / 8 AND octet_length(p.payload::text) > parse_batch.max_bytes
                           THEN format('payload: %s bytes of JSON is over the limit of %s bytes',
                                       octet_length(p.payload::text), parse_batch.max_bytes)
                       END,
                       p.repeat
                  )::@schema@.batch_event ORDER BY p.idx)
    FROM (SELECT q.*, q.eid IS NOT NULL AND q.idx > min(q.idx) OVER (PARTITION BY q.eid COLLATE "C") AS repeat FROM (
          SELECT x.ord::int AS idx,
                 CASE WHEN jsonb_typeof(x.id) = 'string' THEN x.id #>> '{}' END AS eid,
                 x.type AS op, x.entity AS j_entity,
                 CASE WHEN jsonb_typeof(x."entityId") = 'string' THEN x."entityId" #>> '{}' END AS rid,
                 x.payload,
                 CASE WHEN jsonb_typeof(x."timestamp") = 'number' THEN x."timestamp"::float8 END AS ts,
                 x."clientId" AS j_client,
                 CASE WHEN jsonb_typeof(x."clientId") = 'string' THEN x."clientId" #>> '{}' END AS client,
                 nullif(x.seq, 'null'::jsonb) AS j_seq,
                 CASE WHEN jsonb_typeof(x.seq) <> 'number' THEN NULL
                      WHEN x.seq::numeric BETWEEN 0 AND 9e18 AND x.seq::numeric = trunc(x.seq::numeric)
                      THEN x.seq::numeric::bigint END AS seq,
                 nullif(x."baseVersion", 'null'::jsonb) AS j_base,
                 CASE WHEN jsonb_typeof(x."baseVersion") <> 'number' THEN NULL
                      WHEN x."baseVersion"::numeric BETWEEN 0 AND 9e18 AND x."baseVersion"::numeric = trunc(x."baseVersion"::numeric)
                      THEN x."baseVersion"::numeric::bigint END AS base,
                 nullif(x.coalesced, 'null'::jsonb) AS coalesced
            FROM ROWS FROM (jsonb_to_recordset(parse_batch.events) AS (id jsonb, type text, entity jsonb, "entityId" jsonb, payload jsonb,
                                                         "timestamp" jsonb, "clientId" jsonb, seq jsonb, "baseVersion" jsonb,
                                                         coalesced jsonb))
                 WITH ORDINALITY AS x(id, type, entity, "entityId", payload, "timestamp", "clientId", seq, "baseVersion",
                                      coalesced, ord)) q) p
    LEFT JOIN @schema@.entities reg ON jsonb_typeof(p.j_entity) = 'string' AND reg.name = p.j_entity #>> '{}');
END
$fn$;

-- generic plans: the statements' plans do not depend on the batch, so planning once per session is enough
CREATE FUNCTION @schema@.apply_batch(events jsonb) RETURNS jsonb
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $fn$
#variable_conflict use_column
DECLARE
  s          text := @schema_text@;
  batch      uuid := gen_random_uuid();
  sub        text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  max_bytes  bigint;
  buckets    int;
  whole_above int;
  n          int;
  evs        @schema@.batch_event[];
  src        jsonb := events;
  not_obj    int[] := '{}';
  -- results, one element per event in input order
  r_out text[]; r_ver bigint[]; r_cur jsonb[]; r_reason text[];
  -- events of rows that need the sequential fold
  k_idx int[];
  r          record;
  -- the row being folded
  g_tbl text; g_id text; g_kind text; g_col text; g_dyn boolean; g_entity text;
  g_exists0 boolean; g_exists boolean; g_data jsonb; g_ver bigint; g_by text; g_changed boolean := false;
  g_first int;
  nd jsonb;
  ver bigint;
  -- pending writes of built-in tables
  w_op text[]; w_tbl text[]; w_id text[]; w_data jsonb[]; w_ver bigint[]; w_by text[];
  w_mask int := 0;
  done text[];
  f_tbl text[] := '{}'; f_id text[] := '{}';
  has_repeat boolean;
  has_coalesced boolean;
  out jsonb;
BEGIN
  IF jsonb_typeof(events) IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'apply_batch: events must be a JSON array, got %', coalesce(jsonb_typeof(events), 'null')
      USING ERRCODE = '22023';
  END IF;
  n := jsonb_array_length(events);
  IF n = 0 THEN
    RETURN '[]'::jsonb;
  END IF;
  SELECT max((value #>> '{}')::bigint) FILTER (WHERE key = 'max_payload_bytes'),
         max((value #>> '{}')::int) FILTER (WHERE key = 'lock_buckets'),
         max((value #>> '{}')::int) FILTER (WHERE key = 'lock_table_above')
    INTO max_bytes, buckets, whole_above
    FROM @schema@.settings WHERE key IN ('max_payload_bytes', 'lock_buckets', 'lock_table_above');
  whole_above := coalesce(whole_above, 64);

  -- 1. parse once (jsonb_to_recordset fails on an element that is not an object: rare, handled apart)
  BEGIN
    evs := @schema@.parse_batch(events, '{}', max_bytes);
  EXCEPTION WHEN invalid_parameter_value THEN
    -- some elements are not objects: parse again with those replaced by {} (and rejected)
    SELECT array_agg(i::int) FILTER (WHERE jsonb_typeof(e) <> 'object'),
           jsonb_agg(CASE WHEN jsonb_typeof(e) = 'object' THEN e ELSE '{}'::jsonb END ORDER BY i)
      INTO not_obj, src
      FROM jsonb_array_elements(events) WITH ORDINALITY AS t(e, i);
    evs := @schema@.parse_batch(src, not_obj, max_bytes);
  END;

  -- 2. lock: per table either one exclusive table key, or a shared table key and the buckets
  WITH t AS (SELECT e.tbl, count(*) > whole_above AS whole FROM unnest(evs) e WHERE e.reason IS NULL GROUP BY e.tbl)
  SELECT count(CASE WHEN l.whole THEN pg_advisory_xact_lock(hashtext(s || '.tables'), hashtext(l.tbl))
                    WHEN l.b IS NULL THEN pg_advisory_xact_lock_shared(hashtext(s || '.tables'), hashtext(l.tbl))
                    ELSE pg_advisory_xact_lock(hashtext(s || '.rows'), l.b) END)
    INTO n
    FROM (SELECT t.tbl, t.whole, NULL::int AS b, 0 AS phase, hashtext(t.tbl) AS k FROM t
          UNION ALL
          SELECT DISTINCT NULL, false, (hashtext(e.tbl || ':' || e.rid) & 2147483647) % buckets, 1, 0
            FROM unnest(evs) e JOIN t ON t.tbl = e.tbl AND NOT t.whole
           WHERE e.reason IS NULL
          ORDER BY 4, 5, 3) l;

  -- 3. duplicates, current rows, and the set-based decisions (fold rows get NULL results for now)
  WITH c AS (
    SELECT e.*, CASE WHEN e.reason IS NULL AND NOT e.repeat THEN
                  (SELECT coalesce(a.version, -1) FROM @schema@.applied_events a WHERE a.event_id = e.eid) END AS dupv
      FROM unnest(evs) e
  ), live AS (
    SELECT tbl, rid, count(*) AS n FROM c WHERE reason IS NULL AND dupv IS NULL AND NOT repeat GROUP BY 1, 2
  ), i AS (
    SELECT c.*, c.reason IS NULL AND c.dupv IS NULL AND NOT c.repeat AND (l.n > 1 OR c.dyn) AS fold,
           c.reason IS NULL AND c.dupv IS NULL AND NOT c.repeat AND l.n = 1 AND NOT c.dyn AS single,
           cur.id IS NOT NULL AS cur_exists, cur.data AS cur_data, cur.version AS cur_version
      FROM c
      LEFT JOIN live l ON l.tbl = c.tbl AND l.rid = c.rid
      LEFT JOIN LATERAL (
             SELECT x.id, x.data_source_config AS data, x.version FROM @schema@.charts x
              WHERE c.reason IS NULL AND c.dupv IS NULL AND c.tbl = 'charts' AND NOT c.dyn AND x.id = c.rid
             UNION ALL
             SELECT x.id, x.doc, x.version FROM @schema@.wells x
              WHERE c.reason IS NULL AND c.dupv IS NULL AND c.tbl = 'wells' AND NOT c.dyn AND x.id = c.rid
             UNION ALL
             SELECT x.id, x.doc, x.version FROM @schema@.polygons x
              WHERE c.reason IS NULL AND c.dupv IS NULL AND c.tbl = 'polygons' AND NOT c.dyn AND x.id = c.rid
             UNION ALL
             SELECT x.id, x.doc, x.version FROM @schema@.curves x
              WHERE c.reason IS NULL AND c.dupv IS NULL AND c.tbl = 'curves' AND NOT c.dyn AND x.id = c.rid
           ) cur ON true
  ), k AS (
    SELECT i.*, i.single AND i.base IS NOT NULL
                AND ((i.cur_exists AND i.base < i.cur_version) OR (NOT i.cur_exists AND i.op = 'update')) AS conflict
      FROM i
  ), d AS (
    SELECT k.*, w.nd, w.del,
           CASE WHEN w.nd IS NOT NULL THEN CASE WHEN k.cur_exists THEN 'u' ELSE 'i' END WHEN w.del THEN 'd' END AS wop,
           coalesce(k.cur_version, 0) + CASE WHEN w.nd IS NOT NULL OR w.del THEN 1 ELSE 0 END AS ver
      FROM k
     CROSS JOIN LATERAL (
       SELECT CASE
                WHEN NOT k.single OR k.conflict THEN NULL
                WHEN k.kind = 'document' AND k.op = 'remove' THEN NULL
                WHEN k.kind = 'document' AND k.op = 'update' AND k.cur_exists THEN k.cur_data || k.payload
                WHEN k.kind = 'document' THEN k.payload
                WHEN k.op = 'remove' AND NOT k.cur_exists THEN NULL
                ELSE @schema@.fold_entries(coalesce(k.cur_data, '[]'::jsonb), k.op, k.payload)
              END AS nd,
              k.single AND NOT k.conflict AND k.kind = 'document' AND k.op = 'remove' AND k.cur_exists AS del
     ) w
  )
  SELECT array_agg(CASE WHEN fold THEN NULL WHEN reason IS NOT NULL THEN 'rejected'
                        WHEN dupv IS NOT NULL OR repeat THEN 'duplicate' WHEN conflict THEN 'conflict'
                        ELSE 'applied' END ORDER BY idx),
         array_agg(CASE WHEN fold OR reason IS NOT NULL OR repeat THEN NULL WHEN dupv IS NOT NULL THEN nullif(dupv, -1)
                        WHEN conflict THEN cur_version ELSE ver END ORDER BY idx),
         array_agg(CASE WHEN conflict AND cur_exists
                        THEN jsonb_build_object('entity', entity, 'id', rid, 'version', cur_version, 'data', cur_data)
                        WHEN conflict THEN 'null'::jsonb END ORDER BY idx),
         array_agg(reason ORDER BY idx),
         coalesce(array_agg(wop) FILTER (WHERE wop IS NOT NULL), '{}'),
         coalesce(array_agg(tbl) FILTER (WHERE wop IS NOT NULL), '{}'),
         coalesce(array_agg(rid) FILTER (WHERE wop IS NOT NULL), '{}'),
         coalesce(array_agg(nd) FILTER (WHERE wop IS NOT NULL), '{}'),
         coalesce(array_agg(ver) FILTER (WHERE wop IS NOT NULL), '{}'),
         coalesce(array_agg(coalesce(sub, client)) FILTER (WHERE wop IS NOT NULL), '{}'),
         array_agg(idx) FILTER (WHERE fold),
         coalesce(bool_or(repeat), false), coalesce(bool_or(coalesced IS NOT NULL AND reason IS NULL), false)
    INTO r_out, r_ver, r_cur, r_reason, w_op, w_tbl, w_id, w_data, w_ver, w_by, k_idx, has_repeat, has_coalesced
    FROM d;

  -- the sequential fold: rows with several live events, and registry-added entities
  IF k_idx IS NOT NULL THEN
    FOR r IN SELECT e.*, cur.data AS cur_data, cur.version AS cur_version
               FROM unnest(evs) e
               LEFT JOIN LATERAL (
                      SELECT x.data_source_config AS data, x.version FROM @schema@.charts x
                       WHERE e.tbl = 'charts' AND NOT e.dyn AND x.id = e.rid
                      UNION ALL
                      SELECT x.doc, x.version FROM @schema@.wells x WHERE e.tbl = 'wells' AND NOT e.dyn AND x.id = e.rid
                      UNION ALL
                      SELECT x.doc, x.version FROM @schema@.polygons x WHERE e.tbl = 'polygons' AND NOT e.dyn AND x.id = e.rid
                      UNION ALL
                      SELECT x.doc, x.version FROM @schema@.curves x WHERE e.tbl = 'curves' AND NOT e.dyn AND x.id = e.rid
                    ) cur ON true
              WHERE e.idx = ANY (k_idx)
              ORDER BY e.tbl COLLATE "C", e.rid COLLATE "C", coalesce(e.client, '') COLLATE "C", coalesce(e.seq, -1),
                       e.ts, e.eid COLLATE "C"
    LOOP
      -- a new row: write the previous one, then load this one
      IF g_tbl IS DISTINCT FROM r.tbl OR g_id IS DISTINCT FROM r.rid THEN
        IF g_changed THEN
          IF g_dyn THEN
            PERFORM @schema@.write_row(g_tbl, g_col, g_id, g_exists0, g_exists, g_data, g_ver, g_by);
          ELSIF g_exists OR g_exists0 THEN
            w_op := w_op || CASE WHEN g_exists AND g_exists0 THEN 'u' WHEN g_exists THEN 'i' ELSE 'd' END;
            w_tbl := w_tbl || g_tbl; w_id := w_id || g_id; w_data := w_data || g_data;
            w_ver := w_ver || g_ver; w_by := w_by || g_by;
          END IF;
        END IF;
        g_tbl := r.tbl; g_id := r.rid; g_kind := r.kind; g_col := r.col; g_dyn := r.dyn; g_entity := r.entity;
        g_changed := false;
        IF r.dyn THEN
          g_ver := NULL;
          EXECUTE format('SELECT t.%I, t.version FROM %I.%I t WHERE t.id = $1', r.col, s, r.tbl)
            INTO g_data, g_ver USING r.rid;
        ELSE
          g_data := r.cur_data; g_ver := r.cur_version;
        END IF;
        g_exists0 := g_ver IS NOT NULL;
        g_exists := g_exists0;
        g_ver := coalesce(g_ver, 0);
      END IF;

      -- version checks (only with baseVersion)
      IF r.base IS NOT NULL AND ((g_exists AND r.base < g_ver) OR (NOT g_exists AND r.op = 'update')) THEN
        r_out[r.idx] := 'conflict';
        IF g_exists THEN
          r_ver[r.idx] := g_ver;
          r_cur[r.idx] := jsonb_build_object('entity', g_entity, 'id', g_id, 'version', g_ver, 'data', g_data);
        ELSE
          r_cur[r.idx] := 'null'::jsonb;
        END IF;
        CONTINUE;
      END IF;

      -- the change; nd stays NULL when nothing changes
      nd := NULL;
      IF g_kind = 'document' THEN
        IF r.op = 'remove' THEN
          IF g_exists THEN
            g_exists := false; g_changed := true; g_by := coalesce(sub, r.client);
            ver := g_ver + 1; g_ver := 0; g_data := NULL;
          ELSE
            ver := g_ver;
          END IF;
        ELSE
          nd := CASE WHEN r.op = 'update' AND g_exists THEN g_data || r.payload ELSE r.payload END;
        END IF;
      ELSIF r.op = 'remove' AND NOT g_exists THEN
        ver := g_ver;
      ELSE
        nd := @schema@.fold_entries(coalesce(g_data, '[]'::jsonb), r.op, r.payload);
        IF nd IS NULL THEN ver := g_ver; END IF;
      END IF;
      IF nd IS NOT NULL THEN
        g_data := nd; g_exists := true; g_changed := true; g_by := coalesce(sub, r.client);
        g_ver := g_ver + 1; ver := g_ver;
      END IF;
      r_out[r.idx] := 'applied';
      r_ver[r.idx] := ver;
    END LOOP;
    IF g_changed THEN
      IF g_dyn THEN
        PERFORM @schema@.write_row(g_tbl, g_col, g_id, g_exists0, g_exists, g_data, g_ver, g_by);
      ELSIF g_exists OR g_exists0 THEN
        w_op := w_op || CASE WHEN g_exists AND g_exists0 THEN 'u' WHEN g_exists THEN 'i' ELSE 'd' END;
        w_tbl := w_tbl || g_tbl; w_id := w_id || g_id; w_data := w_data || g_data;
        w_ver := w_ver || g_ver; w_by := w_by || g_by;
      END IF;
    END IF;
  END IF;

  -- 4. set-based writes of the built-in tables; each returns the ids it wrote
  IF cardinality(w_id) > 0 THEN
    SELECT coalesce(bit_or(CASE t WHEN 'charts' THEN 1 WHEN 'wells' THEN 2 WHEN 'polygons' THEN 4 ELSE 8 END
                           << CASE o WHEN 'i' THEN 0 WHEN 'u' THEN 4 ELSE 8 END), 0)
      INTO w_mask FROM unnest(w_tbl, w_op) AS x(t, o);
    IF w_mask & (15 << 8) <> 0 THEN
      PERFORM set_config('mudsync.deleted_by',
        (SELECT jsonb_object_agg(i, coalesce(to_jsonb(b), 'null'::jsonb))::text
           FROM unnest(w_op, w_id, w_by) AS x(o, i, b) WHERE o = 'd'), true);
    END IF;
    done := '{}';
    IF w_mask & 1 <> 0 THEN
      WITH w AS (INSERT INTO @schema@.charts (id, data_source_config, version, updated_by)
                 SELECT i, d, v, b FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by) AS x(o, t, i, d, v, b)
                  WHERE o = 'i' AND t = 'charts'
                 ON CONFLICT (id) DO NOTHING RETURNING 'charts:' || id AS k)
      SELECT done || array_agg(k) INTO done FROM w;
    END IF;
    IF w_mask & 16 <> 0 THEN
      WITH w AS (UPDATE @schema@.charts c SET data_source_config = x.d, version = x.v, updated_at = now(), updated_by = x.b
                   FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by) AS x(o, t, i, d, v, b)
                  WHERE x.o = 'u' AND x.t = 'charts' AND c.id = x.i RETURNING 'charts:' || c.id AS k)
      SELECT done || array_agg(k) INTO done FROM w;
    END IF;
    IF w_mask & 2 <> 0 THEN
      WITH w AS (INSERT INTO @schema@.wells (id, doc, version, updated_by)
                 SELECT i, d, v, b FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by) AS x(o, t, i, d, v, b)
                  WHERE o = 'i' AND t = 'wells'
                 ON CONFLICT (id) DO NOTHING RETURNING 'wells:' || id AS k)
      SELECT done || array_agg(k) INTO done FROM w;
    END IF;
    IF w_mask & 32 <> 0 THEN
      WITH w AS (UPDATE @schema@.wells y SET doc = x.d, version = x.v, updated_at = now(), updated_by = x.b
                   FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by) AS x(o, t, i, d, v, b)
                  WHERE x.o = 'u' AND x.t = 'wells' AND y.id = x.i RETURNING 'wells:' || y.id AS k)
      SELECT done || array_agg(k) INTO done FROM w;
    END IF;
    IF w_mask & 512 <> 0 THEN
      WITH w AS (DELETE FROM @schema@.wells y USING unnest(w_op, w_tbl, w_id) AS x(o, t, i)
                  WHERE x.o = 'd' AND x.t = 'wells' AND y.id = x.i RETURNING 'wells:' || y.id AS k)
      SELECT done || array_agg(k) INTO done FROM w;
    END IF;
    IF w_mask & 4 <> 0 THEN
      WITH w AS (INSERT INTO @schema@.polygons (id, doc, version, updated_by)
                 SELECT i, d, v, b FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by) AS x(o, t, i, d, v, b)
                  WHERE o = 'i' AND t = 'polygons'
                 ON CONFLICT (id) DO NOTHING RETURNING 'polygons:' || id AS k)
      SELECT done || array_agg(k) INTO done FROM w;
    END IF;
    IF w_mask & 64 <> 0 THEN
      WITH w AS (UPDATE @schema@.polygons y SET doc = x.d, version = x.v, updated_at = now(), updated_by = x.b
                   FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by) AS x(o, t, i, d, v, b)
                  WHERE x.o = 'u' AND x.t = 'polygons' AND y.id = x.i RETURNING 'polygons:' || y.id AS k)
      SELECT done || array_agg(k) INTO done FROM w;
    END IF;
    IF w_mask & 1024 <> 0 THEN
      WITH w AS (DELETE FROM @schema@.polygons y USING unnest(w_op, w_tbl, w_id) AS x(o, t, i)
                  WHERE x.o = 'd' AND x.t = 'polygons' AND y.id = x.i RETURNING 'polygons:' || y.id AS k)
      SELECT done || array_agg(k) INTO done FROM w;
    END IF;
    IF w_mask & 8 <> 0 THEN
      WITH w AS (INSERT INTO @schema@.curves (id, doc, version, updated_by)
                 SELECT i, d, v, b FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by) AS x(o, t, i, d, v, b)
                  WHERE o = 'i' AND t = 'curves'
                 ON CONFLICT (id) DO NOTHING RETURNING 'curves:' || id AS k)
      SELECT done || array_agg(k) INTO done FROM w;
    END IF;
    IF w_mask & 128 <> 0 THEN
      WITH w AS (UPDATE @schema@.curves y SET doc = x.d, version = x.v, updated_at = now(), updated_by = x.b
                   FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by) AS x(o, t, i, d, v, b)
                  WHERE x.o = 'u' AND x.t = 'curves' AND y.id = x.i RETURNING 'curves:' || y.id AS k)
      SELECT done || array_agg(k) INTO done FROM w;
    END IF;
    IF w_mask & 2048 <> 0 THEN
      WITH w AS (DELETE FROM @schema@.curves y USING unnest(w_op, w_tbl, w_id) AS x(o, t, i)
                  WHERE x.o = 'd' AND x.t = 'curves' AND y.id = x.i RETURNING 'curves:' || y.id AS k)
      SELECT done || array_agg(k) INTO done FROM w;
    END IF;

    -- rows not written: hidden from this user by row-level security; their events are rejected
    IF cardinality(done) < cardinality(w_id) THEN
      SELECT array_agg(x.t), array_agg(x.i) INTO f_tbl, f_id
        FROM unnest(w_tbl, w_id) AS x(t, i)
       WHERE NOT (x.t || ':' || x.i) = ANY (done);
      SELECT array_agg(CASE WHEN f.i IS NOT NULL AND e.o = 'applied' THEN 'rejected' ELSE e.o END ORDER BY e.idx),
             array_agg(CASE WHEN f.i IS NOT NULL AND e.o = 'applied' THEN NULL ELSE e.v END ORDER BY e.idx),
             array_agg(CASE WHEN f.i IS NOT NULL AND e.o = 'applied'
                            THEN 'row not visible to this user (row-level security)' ELSE e.r END ORDER BY e.idx)
        INTO r_out, r_ver, r_reason
        FROM ROWS FROM (unnest(evs), unnest(r_out), unnest(r_ver), unnest(r_reason)) AS e
             (idx, eid, op, entity, rid, payload, ts, client, seq, base, coalesced, tbl, kind, col, dyn, reason, repeat, o, v, r)
        LEFT JOIN unnest(f_tbl, f_id) AS f(t, i) ON f.t = e.tbl AND f.i = e.rid;
    END IF;
  END IF;

  -- a repeated id inside the batch reports the version its first occurrence got
  IF has_repeat THEN
    SELECT array_agg(CASE WHEN e.repeat THEN f.v ELSE x.v END ORDER BY e.idx) INTO r_ver
      FROM ROWS FROM (unnest(evs), unnest(r_ver)) AS e
           (idx, eid, op, entity, rid, payload, ts, client, seq, base, coalesced, tbl, kind, col, dyn, reason, repeat, v)
      CROSS JOIN LATERAL (SELECT e.v) x(v)
      LEFT JOIN LATERAL (SELECT r_ver[y.idx] AS v FROM unnest(evs) y
                          WHERE e.repeat AND y.eid = e.eid AND NOT y.repeat AND r_out[y.idx] = 'applied') f ON true;
  END IF;

  -- 5. the ledger (coalesced ids count as applied with their event's version), the audit log, the result
  INSERT INTO @schema@.applied_events (event_id, client_id, seq, batch_id, outcome, version)
  SELECT e.eid, e.client, e.seq, batch, 'applied', e.v
    FROM ROWS FROM (unnest(evs), unnest(r_out), unnest(r_ver)) AS e
         (idx, eid, op, entity, rid, payload, ts, client, seq, base, coalesced, tbl, kind, col, dyn, reason, repeat, o, v)
   WHERE e.o = 'applied';
  IF has_coalesced THEN
    INSERT INTO @schema@.applied_events (event_id, client_id, seq, batch_id, outcome, version)
    SELECT c.id, e.client, NULL, batch, 'applied', e.v
      FROM ROWS FROM (unnest(evs), unnest(r_out), unnest(r_ver)) AS e
           (idx, eid, op, entity, rid, payload, ts, client, seq, base, coalesced, tbl, kind, col, dyn, reason, repeat, o, v)
     CROSS JOIN LATERAL jsonb_array_elements_text(e.coalesced) AS c(id)
     WHERE e.o = 'applied' AND jsonb_typeof(e.coalesced) = 'array'
    ON CONFLICT (event_id) DO NOTHING;
  END IF;
  INSERT INTO @schema@.audit_log (batch_id, event_id, entity, entity_id, decision, version, reason, actor)
  SELECT batch, e.eid, coalesce(e.entity, left(src -> (e.idx - 1) ->> 'entity', 200)),
         coalesce(e.rid, left(src -> (e.idx - 1) ->> 'entityId', 500)), e.o, e.v, e.r,
         coalesce(sub, left(e.client, 200))
    FROM ROWS FROM (unnest(evs), unnest(r_out), unnest(r_ver), unnest(r_reason)) AS e
         (idx, eid, op, entity, rid, payload, ts, client, seq, base, coalesced, tbl, kind, col, dyn, reason, repeat, o, v, r);

  SELECT jsonb_agg(CASE e.o
                     WHEN 'applied' THEN jsonb_build_object('id', e.eid, 'outcome', 'applied', 'version', e.v)
                     WHEN 'rejected' THEN jsonb_build_object('id', e.eid, 'outcome', 'rejected', 'reason', e.r)
                     WHEN 'conflict' THEN CASE WHEN e.v IS NULL
                       THEN jsonb_build_object('id', e.eid, 'outcome', 'conflict', 'current', e.c)
                       ELSE jsonb_build_object('id', e.eid, 'outcome', 'conflict', 'version', e.v, 'current', e.c) END
                     ELSE CASE WHEN e.v IS NULL THEN jsonb_build_object('id', e.eid, 'outcome', e.o)
                       ELSE jsonb_build_object('id', e.eid, 'outcome', e.o, 'version', e.v) END
                   END ORDER BY e.idx)
    INTO out
    FROM ROWS FROM (unnest(evs), unnest(r_out), unnest(r_ver), unnest(r_cur), unnest(r_reason)) AS e
         (idx, eid, op, entity, rid, payload, ts, client, seq, base, coalesced, tbl, kind, col, dyn, reason, repeat, o, v, c, r);
  RETURN out;
END
$fn$;
