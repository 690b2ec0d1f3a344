-- apply_batch(events jsonb) returns jsonb: one batch, one transaction, one round trip.
-- Validation and duplicate detection are set-based (one query); the per-row fold runs in memory
-- in a fixed order; writes are one set-based statement per table and kind of write; the ledger
-- and the audit log are one INSERT ... SELECT each. Dynamic SQL only for registry-added entities.
-- Concurrency: every row key hashes to an advisory lock bucket; buckets are taken in ascending
-- order before any row is read, so concurrent batches serialise per row and never deadlock.
-- Requires READ COMMITTED (the default), so the read after the locks sees committed writes.

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

CREATE FUNCTION @schema@.apply_batch(events jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
  s          text := @schema_text@;
  batch      uuid := gen_random_uuid();
  sub        text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  max_bytes  bigint;
  buckets    int;
  n          int;
  res        jsonb[];
  r          record;
  -- the row being folded
  g_tbl text; g_id text; g_kind text; g_col text; g_dyn boolean; g_entity text;
  g_exists0 boolean; g_exists boolean; g_data jsonb; g_ver bigint; g_by text; g_changed boolean := false;
  nd jsonb;
  actor text;
  ver bigint;
  -- pending writes of built-in tables
  w_op text[] := '{}'; w_tbl text[] := '{}'; w_id text[] := '{}'; w_data jsonb[] := '{}';
  w_ver bigint[] := '{}'; w_by text[] := '{}';
  w_mask int := 0;
  -- ledger
  a_id text[] := '{}'; a_client text[] := '{}'; a_seq bigint[] := '{}'; a_ver bigint[] := '{}';
  c_id text[] := '{}'; c_client text[] := '{}'; c_ver bigint[] := '{}';
  has_repeat boolean := false;
BEGIN
  IF jsonb_typeof(events) IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'apply_batch: events must be a JSON array, got %', coalesce(jsonb_typeof(events), 'null')
      USING ERRCODE = '22023';
  END IF;
  n := jsonb_array_length(events);
  IF n = 0 THEN
    RETURN '[]'::jsonb;
  END IF;
  SELECT (value #>> '{}')::bigint INTO max_bytes FROM @schema@.settings WHERE key = 'max_payload_bytes';
  SELECT (value #>> '{}')::int INTO buckets FROM @schema@.settings WHERE key = 'lock_buckets';
  res := array_fill(NULL::jsonb, ARRAY[n]);

  -- 1. lock the row buckets, ascending (a fixed global order: no deadlocks)
  PERFORM pg_advisory_xact_lock(hashtext(s || '.rows'), b)
     FROM (SELECT DISTINCT (hashtext(g.table_name || ':' || (e ->> 'entityId')) & 2147483647) % buckets AS b
             FROM jsonb_array_elements(events) e
             JOIN @schema@.entities g ON g.name = e ->> 'entity'
            WHERE jsonb_typeof(e -> 'entityId') = 'string'
            ORDER BY 1) locks;

  -- 2. one query: validation, duplicates, current rows, in fold order
  FOR r IN
    WITH ev AS (
      SELECT i::int AS idx, e,
             CASE WHEN jsonb_typeof(e -> 'id') = 'string' THEN e ->> 'id' END AS eid,
             CASE WHEN jsonb_typeof(e -> 'entityId') = 'string' THEN e ->> 'entityId' END AS rid,
             CASE WHEN jsonb_typeof(e -> 'clientId') = 'string' THEN e ->> 'clientId' END AS client,
             CASE WHEN jsonb_typeof(e -> 'seq') = 'number' THEN (e -> 'seq')::numeric END AS seq,
             CASE WHEN jsonb_typeof(e -> 'timestamp') = 'number' THEN (e -> 'timestamp')::numeric END AS ts,
             CASE WHEN jsonb_typeof(e -> 'baseVersion') = 'number' THEN (e -> 'baseVersion')::numeric END AS base
        FROM jsonb_array_elements(events) WITH ORDINALITY AS t(e, i)
    )
    SELECT ev.idx, ev.eid, ev.rid, ev.client, ev.seq::bigint AS seq, ev.base::bigint AS base,
           ev.e ->> 'type' AS op, ev.e -> 'payload' AS payload, ev.e -> 'coalesced' AS coalesced,
           reg.name AS entity, reg.table_name AS tbl, reg.kind, reg.data_column AS col, NOT reg.builtin AS dyn,
           ae.event_id IS NOT NULL AS dup, ae.version AS dup_version,
           row_number() OVER (PARTITION BY ev.eid ORDER BY ev.idx) AS occ,
           cur.id IS NOT NULL AS cur_exists, cur.data AS cur_data, cur.version AS cur_version,
           CASE
             WHEN jsonb_typeof(ev.e) IS DISTINCT FROM 'object' THEN 'event: expected a JSON object'
             WHEN ev.eid IS NULL OR ev.eid = '' OR length(ev.eid) > 200 THEN 'id: expected a string of 1 to 200 characters'
             WHEN ev.e ->> 'type' IS NULL OR ev.e ->> 'type' NOT IN ('add', 'remove', 'update')
               THEN 'type: expected add, remove or update'
             WHEN jsonb_typeof(ev.e -> 'entity') IS DISTINCT FROM 'string' THEN 'entity: expected a string'
             WHEN reg.name IS NULL THEN 'entity: unknown entity "' || left(ev.e ->> 'entity', 100) || '"'
             WHEN ev.rid IS NULL OR ev.rid = '' OR length(ev.rid) > 500
               THEN 'entityId: expected a string of 1 to 500 characters'
             WHEN jsonb_typeof(ev.e -> 'payload') IS DISTINCT FROM 'object' THEN 'payload: expected a JSON object'
             WHEN ev.ts IS NULL THEN 'timestamp: expected a number (epoch ms)'
             WHEN coalesce(jsonb_typeof(ev.e -> 'clientId'), 'null') NOT IN ('string', 'null')
                  OR length(ev.client) > 200 THEN 'clientId: expected a string of at most 200 characters'
             WHEN coalesce(jsonb_typeof(ev.e -> 'seq'), 'null') NOT IN ('number', 'null')
                  OR ev.seq < 0 OR ev.seq <> trunc(ev.seq) OR ev.seq > 9e18 THEN 'seq: expected a non-negative integer'
             WHEN coalesce(jsonb_typeof(ev.e -> 'baseVersion'), 'null') NOT IN ('number', 'null')
                  OR ev.base < 0 OR ev.base <> trunc(ev.base) OR ev.base > 9e18
               THEN 'baseVersion: expected a non-negative integer'
             WHEN coalesce(jsonb_typeof(ev.e -> 'coalesced'), 'null') NOT IN ('array', 'null')
                  OR (jsonb_typeof(ev.e -> 'coalesced') = 'array' AND EXISTS (
                       SELECT 1 FROM jsonb_array_elements(ev.e -> 'coalesced') c
                        WHERE jsonb_typeof(c) <> 'string' OR length(c #>> '{}') NOT BETWEEN 1 AND 200))
               THEN 'coalesced: expected a list of event ids'
             WHEN reg.kind = 'entries' AND jsonb_typeof(ev.e -> 'payload' -> 'id') IS DISTINCT FROM 'string'
               THEN 'payload.id: expected a string (the entry id)'
             WHEN octet_length((ev.e -> 'payload')::text) > max_bytes
               THEN format('payload: %s bytes of JSON is over the limit of %s bytes',
                           octet_length((ev.e -> 'payload')::text), max_bytes)
           END AS reason
      FROM ev
      LEFT JOIN @schema@.entities reg ON reg.name = ev.e ->> 'entity'
      LEFT JOIN @schema@.applied_events ae ON ae.event_id = ev.eid
      LEFT JOIN LATERAL (
             SELECT c.id, c.data_source_config AS data, c.version FROM @schema@.charts c
              WHERE reg.table_name = 'charts' AND reg.builtin AND c.id = ev.rid
             UNION ALL
             SELECT w.id, w.doc, w.version FROM @schema@.wells w
              WHERE reg.table_name = 'wells' AND reg.builtin AND w.id = ev.rid
             UNION ALL
             SELECT p.id, p.doc, p.version FROM @schema@.polygons p
              WHERE reg.table_name = 'polygons' AND reg.builtin AND p.id = ev.rid
             UNION ALL
             SELECT k.id, k.doc, k.version FROM @schema@.curves k
              WHERE reg.table_name = 'curves' AND reg.builtin AND k.id = ev.rid
           ) cur ON true
     ORDER BY reg.table_name COLLATE "C" NULLS LAST, ev.rid COLLATE "C" NULLS LAST,
              coalesce(ev.client, '') COLLATE "C", coalesce(ev.seq, -1), ev.ts, ev.eid COLLATE "C", ev.idx
  LOOP
    IF r.reason IS NOT NULL THEN
      res[r.idx] := jsonb_build_object('id', r.eid, 'outcome', 'rejected', 'reason', r.reason);
      CONTINUE;
    ELSIF r.dup THEN
      res[r.idx] := jsonb_strip_nulls(jsonb_build_object('id', r.eid, 'outcome', 'duplicate', 'version', r.dup_version));
      CONTINUE;
    ELSIF r.occ > 1 THEN
      res[r.idx] := jsonb_build_object('id', r.eid, 'outcome', 'duplicate');
      has_repeat := true;
      CONTINUE;
    END IF;

    -- a new row: write the previous one, then load this one
    IF g_tbl IS DISTINCT FROM r.tbl OR g_id IS DISTINCT FROM r.rid THEN
      IF g_changed THEN
        IF g_dyn THEN
          IF g_exists AND g_exists0 THEN
            EXECUTE format('UPDATE %I.%I SET %I = $2, version = $3, updated_at = now(), updated_by = $4 WHERE id = $1',
                           s, g_tbl, g_col) USING g_id, g_data, g_ver, g_by;
          ELSIF g_exists THEN
            EXECUTE format('INSERT INTO %I.%I (id, %I, version, updated_by) VALUES ($1, $2, $3, $4)', s, g_tbl, g_col)
              USING g_id, g_data, g_ver, g_by;
          ELSIF g_exists0 THEN
            PERFORM set_config('mudsync.deleted_by', jsonb_build_object(g_id, g_by)::text, true);
            EXECUTE format('DELETE FROM %I.%I WHERE id = $1', s, g_tbl) USING g_id;
          END IF;
        ELSIF g_exists OR g_exists0 THEN
          w_op := w_op || CASE WHEN g_exists AND g_exists0 THEN 'u' WHEN g_exists THEN 'i' ELSE 'd' END;
          w_tbl := w_tbl || g_tbl; w_id := w_id || g_id; w_data := w_data || g_data;
          w_ver := w_ver || g_ver; w_by := w_by || g_by;
        END IF;
      END IF;
      g_tbl := r.tbl; g_id := r.rid; g_kind := r.kind; g_col := r.col; g_dyn := r.dyn; g_entity := r.entity;
      g_changed := false;
      IF r.dyn THEN
        EXECUTE format('SELECT t.%I, t.version FROM %I.%I t WHERE t.id = $1', r.col, s, r.tbl)
          INTO g_data, g_ver USING r.rid;
        g_exists0 := g_ver IS NOT NULL;
      ELSE
        g_exists0 := r.cur_exists; g_data := r.cur_data; g_ver := r.cur_version;
      END IF;
      g_exists := g_exists0;
      g_ver := coalesce(g_ver, 0);
    END IF;

    actor := coalesce(sub, r.client);
    -- version checks (only with baseVersion)
    IF r.base IS NOT NULL AND ((g_exists AND r.base < g_ver) OR (NOT g_exists AND r.op = 'update')) THEN
      res[r.idx] := CASE WHEN g_exists THEN
          jsonb_build_object('id', r.eid, 'outcome', 'conflict', 'version', g_ver,
            'current', jsonb_build_object('entity', g_entity, 'id', g_id, 'version', g_ver, 'data', g_data))
        ELSE jsonb_build_object('id', r.eid, 'outcome', 'conflict', 'current', NULL) END;
      CONTINUE;
    END IF;

    -- the change itself; nd stays NULL when nothing changes
    IF g_kind = 'document' THEN
      IF r.op = 'remove' THEN
        nd := NULL;
        IF g_exists THEN
          g_exists := false; g_changed := true; g_by := actor;
          ver := g_ver + 1; g_ver := 0; g_data := NULL;
        ELSE
          ver := g_ver;
        END IF;
      ELSE
        nd := CASE WHEN r.op = 'update' AND g_exists THEN g_data || r.payload ELSE r.payload END;
      END IF;
    ELSIF r.op = 'remove' AND NOT g_exists THEN
      nd := NULL; ver := g_ver;
    ELSE
      nd := @schema@.fold_entries(coalesce(g_data, '[]'::jsonb), r.op, r.payload);
      IF nd IS NULL THEN ver := g_ver; END IF;
    END IF;
    IF nd IS NOT NULL THEN
      g_data := nd; g_exists := true; g_changed := true; g_by := actor;
      g_ver := g_ver + 1; ver := g_ver;
    END IF;

    res[r.idx] := jsonb_build_object('id', r.eid, 'outcome', 'applied', 'version', ver);
    a_id := a_id || r.eid; a_client := a_client || r.client; a_seq := a_seq || r.seq; a_ver := a_ver || ver;
    IF jsonb_typeof(r.coalesced) = 'array' THEN
      SELECT c_id || array_agg(x), c_client || array_agg(r.client), c_ver || array_agg(ver)
        INTO c_id, c_client, c_ver FROM jsonb_array_elements_text(r.coalesced) x;
    END IF;
  END LOOP;

  -- the last row
  IF g_changed THEN
    IF g_dyn THEN
      IF g_exists AND g_exists0 THEN
        EXECUTE format('UPDATE %I.%I SET %I = $2, version = $3, updated_at = now(), updated_by = $4 WHERE id = $1',
                       s, g_tbl, g_col) USING g_id, g_data, g_ver, g_by;
      ELSIF g_exists THEN
        EXECUTE format('INSERT INTO %I.%I (id, %I, version, updated_by) VALUES ($1, $2, $3, $4)', s, g_tbl, g_col)
          USING g_id, g_data, g_ver, g_by;
      ELSIF g_exists0 THEN
        PERFORM set_config('mudsync.deleted_by', jsonb_build_object(g_id, g_by)::text, true);
        EXECUTE format('DELETE FROM %I.%I WHERE id = $1', s, g_tbl) USING g_id;
      END IF;
    ELSIF g_exists OR g_exists0 THEN
      w_op := w_op || CASE WHEN g_exists AND g_exists0 THEN 'u' WHEN g_exists THEN 'i' ELSE 'd' END;
      w_tbl := w_tbl || g_tbl; w_id := w_id || g_id; w_data := w_data || g_data;
      w_ver := w_ver || g_ver; w_by := w_by || g_by;
    END IF;
  END IF;

  -- 3. set-based writes of the built-in tables (static SQL), skipping tables with nothing to do
  IF cardinality(w_id) > 0 THEN
    SELECT coalesce(bit_or(CASE t WHEN 'charts' THEN 1 WHEN 'wells' THEN 2 WHEN 'polygons' THEN 4 ELSE 8 END
                           << CASE o WHEN 'i' THEN 0 WHEN 'u' THEN 4 ELSE 8 END), 0)
      INTO w_mask FROM unnest(w_tbl, w_op) AS x(t, o);
    IF w_mask & (15 << 8) <> 0 THEN
      PERFORM set_config('mudsync.deleted_by',
        (SELECT jsonb_object_agg(i, coalesce(to_jsonb(b), 'null'::jsonb))::text
           FROM unnest(w_op, w_id, w_by) AS x(o, i, b) WHERE o = 'd'), true);
    END IF;
    IF w_mask & 1 <> 0 THEN
      INSERT INTO @schema@.charts (id, data_source_config, version, updated_by)
      SELECT i, d, v, b FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by) AS x(o, t, i, d, v, b)
       WHERE o = 'i' AND t = 'charts';
    END IF;
    IF w_mask & 16 <> 0 THEN
      UPDATE @schema@.charts c SET data_source_config = x.d, version = x.v, updated_at = now(), updated_by = x.b
        FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by) AS x(o, t, i, d, v, b)
       WHERE x.o = 'u' AND x.t = 'charts' AND c.id = x.i;
    END IF;
    IF w_mask & 2 <> 0 THEN
      INSERT INTO @schema@.wells (id, doc, version, updated_by)
      SELECT i, d, v, b FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by) AS x(o, t, i, d, v, b)
       WHERE o = 'i' AND t = 'wells';
    END IF;
    IF w_mask & 32 <> 0 THEN
      UPDATE @schema@.wells w SET doc = x.d, version = x.v, updated_at = now(), updated_by = x.b
        FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by) AS x(o, t, i, d, v, b)
       WHERE x.o = 'u' AND x.t = 'wells' AND w.id = x.i;
    END IF;
    IF w_mask & 512 <> 0 THEN
      DELETE FROM @schema@.wells w USING unnest(w_op, w_tbl, w_id) AS x(o, t, i)
       WHERE x.o = 'd' AND x.t = 'wells' AND w.id = x.i;
    END IF;
    IF w_mask & 4 <> 0 THEN
      INSERT INTO @schema@.polygons (id, doc, version, updated_by)
      SELECT i, d, v, b FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by) AS x(o, t, i, d, v, b)
       WHERE o = 'i' AND t = 'polygons';
    END IF;
    IF w_mask & 64 <> 0 THEN
      UPDATE @schema@.polygons p SET doc = x.d, version = x.v, updated_at = now(), updated_by = x.b
        FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by) AS x(o, t, i, d, v, b)
       WHERE x.o = 'u' AND x.t = 'polygons' AND p.id = x.i;
    END IF;
    IF w_mask & 1024 <> 0 THEN
      DELETE FROM @schema@.polygons p USING unnest(w_op, w_tbl, w_id) AS x(o, t, i)
       WHERE x.o = 'd' AND x.t = 'polygons' AND p.id = x.i;
    END IF;
    IF w_mask & 8 <> 0 THEN
      INSERT INTO @schema@.curves (id, doc, version, updated_by)
      SELECT i, d, v, b FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by) AS x(o, t, i, d, v, b)
       WHERE o = 'i' AND t = 'curves';
    END IF;
    IF w_mask & 128 <> 0 THEN
      UPDATE @schema@.curves k SET doc = x.d, version = x.v, updated_at = now(), updated_by = x.b
        FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by) AS x(o, t, i, d, v, b)
       WHERE x.o = 'u' AND x.t = 'curves' AND k.id = x.i;
    END IF;
    IF w_mask & 2048 <> 0 THEN
      DELETE FROM @schema@.curves k USING unnest(w_op, w_tbl, w_id) AS x(o, t, i)
       WHERE x.o = 'd' AND x.t = 'curves' AND k.id = x.i;
    END IF;
  END IF;

  -- a repeated id inside the batch reports the version its first occurrence got
  IF has_repeat THEN
    SELECT array_agg(CASE WHEN x ->> 'outcome' = 'duplicate' AND NOT x ? 'version' AND f.v IS NOT NULL
                          THEN x || jsonb_build_object('version', f.v) ELSE x END ORDER BY i)
      INTO res
      FROM unnest(res) WITH ORDINALITY AS u(x, i)
      LEFT JOIN (SELECT DISTINCT ON (y ->> 'id') y ->> 'id' AS id, y -> 'version' AS v
                   FROM unnest(res) AS y WHERE y ->> 'outcome' = 'applied') f ON f.id = x ->> 'id';
  END IF;

  -- 4. the ledger and the audit log, one statement each
  INSERT INTO @schema@.applied_events (event_id, client_id, seq, batch_id, outcome, version)
  SELECT i, c, q, batch, 'applied', v FROM unnest(a_id, a_client, a_seq, a_ver) AS x(i, c, q, v);
  IF cardinality(c_id) > 0 THEN
    INSERT INTO @schema@.applied_events (event_id, client_id, seq, batch_id, outcome, version)
    SELECT i, c, NULL, batch, 'applied', v FROM unnest(c_id, c_client, c_ver) AS x(i, c, v)
    ON CONFLICT (event_id) DO NOTHING;
  END IF;
  INSERT INTO @schema@.audit_log (batch_id, event_id, entity, entity_id, decision, version, reason, actor)
  SELECT batch, x ->> 'id', left(e ->> 'entity', 200), left(e ->> 'entityId', 500), x ->> 'outcome',
         (x ->> 'version')::bigint, x ->> 'reason',
         coalesce(sub, CASE WHEN jsonb_typeof(e -> 'clientId') = 'string' THEN left(e ->> 'clientId', 200) END)
    FROM unnest(res) WITH ORDINALITY AS u(x, i)
    JOIN jsonb_array_elements(events) WITH ORDINALITY AS v(e, j) ON j = i;

  RETURN to_jsonb(res);
END
$fn$;
