-- apply_batch(events jsonb) returns jsonb: one batch, one transaction, one round trip.
-- 1. one query validates every event, finds duplicates and reads the current rows;
-- 2. rows with a single live event (the common case) are decided set-based, in one query;
-- 3. rows with several events (and registry-added entities) are folded in a loop, in
--    (table, id, clientId, seq, timestamp, event id) order;
-- 4. writes are one set-based statement per built-in table and kind of write (static SQL; dynamic
--    SQL only for registry-added entities); the ledger and the audit log one INSERT each.
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
  -- events of rows that need the sequential fold, one array per field
  k_idx int[]; k_eid text[]; k_rid text[]; k_client text[]; k_seq bigint[]; k_ts numeric[]; k_base bigint[];
  k_op text[]; k_payload jsonb[]; k_entity text[]; k_tbl text[]; k_kind text[]; k_col text[]; k_dyn boolean[];
  k_exists boolean[]; k_data jsonb[]; k_ver bigint[];
  -- the row being folded (rows with several events)
  g_tbl text; g_id text; g_kind text; g_col text; g_dyn boolean; g_entity text;
  g_exists0 boolean; g_exists boolean; g_data jsonb; g_ver bigint; g_by text; g_changed boolean := false;
  nd jsonb;
  ver bigint;
  -- decided set-based: results by input position
  s_idx int[] := '{}'; s_res jsonb[] := '{}';
  -- pending writes of built-in tables
  w_op text[] := '{}'; w_tbl text[] := '{}'; w_id text[] := '{}'; w_data jsonb[] := '{}';
  w_ver bigint[] := '{}'; w_by text[] := '{}';
  w_mask int := 0;
  -- ledger
  a_id text[] := '{}'; a_client text[] := '{}'; a_seq bigint[] := '{}'; a_ver bigint[] := '{}';
  c_id text[] := '{}'; c_client text[] := '{}'; c_ver bigint[] := '{}';
  has_repeat boolean;
  has_fold boolean;
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

  -- lock the row buckets, ascending (a fixed global order: no deadlocks); READ COMMITTED then
  -- lets the next query see every write committed before the locks were granted
  PERFORM pg_advisory_xact_lock(hashtext(s || '.rows'), b)
     FROM (SELECT DISTINCT (hashtext(g.table_name || ':' || (e ->> 'entityId')) & 2147483647) % buckets AS b
             FROM jsonb_array_elements(events) e
             JOIN @schema@.entities g ON g.name = e ->> 'entity'
            WHERE jsonb_typeof(e -> 'entityId') = 'string'
            ORDER BY 1) locks;

  -- 1+2. one query: validate, find duplicates, read current rows; decide set-based the rejected,
  -- the duplicates and every row of a built-in entity with a single live event; hand the other
  -- events (rows with several events, registry-added entities) to the fold below
  WITH ev AS (
    SELECT i::int AS idx, e,
           CASE WHEN jsonb_typeof(e -> 'id') = 'string' THEN e ->> 'id' END AS eid,
           CASE WHEN jsonb_typeof(e -> 'entityId') = 'string' THEN e ->> 'entityId' END AS rid,
           CASE WHEN jsonb_typeof(e -> 'clientId') = 'string' THEN e ->> 'clientId' END AS client,
           CASE WHEN jsonb_typeof(e -> 'seq') = 'number' THEN (e -> 'seq')::numeric END AS seq,
           CASE WHEN jsonb_typeof(e -> 'timestamp') = 'number' THEN (e -> 'timestamp')::numeric END AS ts,
           CASE WHEN jsonb_typeof(e -> 'baseVersion') = 'number' THEN (e -> 'baseVersion')::numeric END AS base
      FROM jsonb_array_elements(events) WITH ORDINALITY AS t(e, i)
  ), repeated AS (
    SELECT e ->> 'id' AS eid, min(i)::int AS first
      FROM jsonb_array_elements(events) WITH ORDINALITY AS t(e, i)
     GROUP BY 1 HAVING count(*) > 1
  ), checked AS MATERIALIZED (
    SELECT ev.idx, ev.eid, ev.rid, ev.client, ev.seq::bigint AS seq, ev.ts, ev.base::bigint AS base,
           ev.e ->> 'type' AS op, ev.e -> 'payload' AS payload, ev.e -> 'coalesced' AS coalesced,
           reg.name AS entity, reg.table_name AS tbl, reg.kind, reg.data_column AS col, NOT reg.builtin AS dyn,
           (SELECT coalesce(a.version, -1) FROM @schema@.applied_events a WHERE a.event_id = ev.eid) AS dupv,
           rep.first IS NOT NULL AND rep.first <> ev.idx AS repeat,
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
             WHEN pg_column_size(ev.e -> 'payload') > max_bytes / 8 AND octet_length((ev.e -> 'payload')::text) > max_bytes
               THEN format('payload: %s bytes of JSON is over the limit of %s bytes',
                           octet_length((ev.e -> 'payload')::text), max_bytes)
           END AS reason
      FROM ev
      LEFT JOIN @schema@.entities reg ON reg.name = ev.e ->> 'entity'
      LEFT JOIN repeated rep ON rep.eid = ev.eid
  ), live AS (
    SELECT tbl, rid, count(*) AS n FROM checked
     WHERE reason IS NULL AND dupv IS NULL AND NOT repeat GROUP BY 1, 2
  ), classified AS (
    SELECT c.*, c.reason IS NULL AND c.dupv IS NOT NULL AS dup,
           c.reason IS NULL AND c.dupv IS NULL AND NOT c.repeat AND (l.n > 1 OR c.dyn) AS fold,
           cur.id IS NOT NULL AS cur_exists, cur.data AS cur_data, cur.version AS cur_version
      FROM checked c
      LEFT JOIN live l ON l.tbl = c.tbl AND l.rid = c.rid
      LEFT JOIN LATERAL (
             SELECT x.id, x.data_source_config AS data, x.version FROM @schema@.charts x
              WHERE c.reason IS NULL AND c.tbl = 'charts' AND NOT c.dyn AND x.id = c.rid
             UNION ALL
             SELECT x.id, x.doc, x.version FROM @schema@.wells x
              WHERE c.reason IS NULL AND c.tbl = 'wells' AND NOT c.dyn AND x.id = c.rid
             UNION ALL
             SELECT x.id, x.doc, x.version FROM @schema@.polygons x
              WHERE c.reason IS NULL AND c.tbl = 'polygons' AND NOT c.dyn AND x.id = c.rid
             UNION ALL
             SELECT x.id, x.doc, x.version FROM @schema@.curves x
              WHERE c.reason IS NULL AND c.tbl = 'curves' AND NOT c.dyn AND x.id = c.rid
           ) cur ON true
  ), d AS (
    SELECT i.*, coalesce(sub, i.client) AS actor, x.wop, x.nd, x.ver,
           i.reason IS NULL AND NOT i.dup AND NOT i.repeat AND NOT i.fold AND NOT k.conflict AS applied,
           CASE
             WHEN i.fold THEN NULL
             WHEN i.reason IS NOT NULL THEN jsonb_build_object('id', i.eid, 'outcome', 'rejected', 'reason', i.reason)
             WHEN i.dup THEN jsonb_strip_nulls(jsonb_build_object('id', i.eid, 'outcome', 'duplicate', 'version', nullif(i.dupv, -1)))
             WHEN i.repeat THEN jsonb_build_object('id', i.eid, 'outcome', 'duplicate')
             WHEN k.conflict AND i.cur_exists THEN jsonb_build_object('id', i.eid, 'outcome', 'conflict', 'version', i.cur_version,
               'current', jsonb_build_object('entity', i.entity, 'id', i.rid, 'version', i.cur_version, 'data', i.cur_data))
             WHEN k.conflict THEN jsonb_build_object('id', i.eid, 'outcome', 'conflict', 'current', NULL)
             ELSE jsonb_build_object('id', i.eid, 'outcome', 'applied', 'version', x.ver)
           END AS result
      FROM classified i
     CROSS JOIN LATERAL (
       SELECT i.reason IS NULL AND NOT i.dup AND NOT i.repeat AND NOT i.fold AND i.base IS NOT NULL
              AND ((i.cur_exists AND i.base < i.cur_version) OR (NOT i.cur_exists AND i.op = 'update')) AS conflict
     ) k
     CROSS JOIN LATERAL (
       SELECT CASE WHEN w.nd IS NOT NULL THEN CASE WHEN i.cur_exists THEN 'u' ELSE 'i' END
                   WHEN w.del THEN 'd' END AS wop,
              w.nd,
              CASE WHEN w.nd IS NOT NULL OR w.del THEN coalesce(i.cur_version, 0) + 1
                   ELSE coalesce(i.cur_version, 0) END AS ver
         FROM (SELECT CASE
                        WHEN i.reason IS NOT NULL OR i.dup OR i.repeat OR i.fold OR k.conflict THEN NULL
                        WHEN i.kind = 'document' AND i.op = 'remove' THEN NULL
                        WHEN i.kind = 'document' AND i.op = 'update' AND i.cur_exists THEN i.cur_data || i.payload
                        WHEN i.kind = 'document' THEN i.payload
                        WHEN i.op = 'remove' AND NOT i.cur_exists THEN NULL
                        ELSE @schema@.fold_entries(coalesce(i.cur_data, '[]'::jsonb), i.op, i.payload)
                      END AS nd,
                      i.reason IS NULL AND NOT i.dup AND NOT i.repeat AND NOT i.fold AND NOT k.conflict
                        AND i.kind = 'document' AND i.op = 'remove' AND i.cur_exists AS del) w
     ) x
  )
  SELECT coalesce(array_agg(z.idx) FILTER (WHERE NOT fold), '{}'), coalesce(array_agg(z.result) FILTER (WHERE NOT fold), '{}'),
         coalesce(array_agg(z.wop) FILTER (WHERE z.wop IS NOT NULL), '{}'),
         coalesce(array_agg(z.tbl) FILTER (WHERE z.wop IS NOT NULL), '{}'),
         coalesce(array_agg(z.rid) FILTER (WHERE z.wop IS NOT NULL), '{}'),
         coalesce(array_agg(z.nd) FILTER (WHERE z.wop IS NOT NULL), '{}'),
         coalesce(array_agg(z.ver) FILTER (WHERE z.wop IS NOT NULL), '{}'),
         coalesce(array_agg(z.actor) FILTER (WHERE z.wop IS NOT NULL), '{}'),
         coalesce(array_agg(z.eid) FILTER (WHERE applied), '{}'),
         coalesce(array_agg(z.client) FILTER (WHERE applied), '{}'),
         coalesce(array_agg(z.seq) FILTER (WHERE applied), '{}'),
         coalesce(array_agg(z.ver) FILTER (WHERE applied), '{}'),
         coalesce(bool_or(z.repeat), false), coalesce(bool_or(z.coalesced IS NOT NULL), false),
         array_agg(z.idx) FILTER (WHERE fold), array_agg(z.eid) FILTER (WHERE fold), array_agg(z.rid) FILTER (WHERE fold),
         array_agg(z.client) FILTER (WHERE fold), array_agg(z.seq) FILTER (WHERE fold), array_agg(z.ts) FILTER (WHERE fold),
         array_agg(z.base) FILTER (WHERE fold), array_agg(z.op) FILTER (WHERE fold), array_agg(z.payload) FILTER (WHERE fold),
         array_agg(z.entity) FILTER (WHERE fold), array_agg(z.tbl) FILTER (WHERE fold), array_agg(z.kind) FILTER (WHERE fold),
         array_agg(z.col) FILTER (WHERE fold), array_agg(z.dyn) FILTER (WHERE fold), array_agg(z.cur_exists) FILTER (WHERE fold),
         array_agg(z.cur_data) FILTER (WHERE fold), array_agg(z.cur_version) FILTER (WHERE fold)
    INTO s_idx, s_res, w_op, w_tbl, w_id, w_data, w_ver, w_by, a_id, a_client, a_seq, a_ver, has_repeat, has_fold,
         k_idx, k_eid, k_rid, k_client, k_seq, k_ts, k_base, k_op, k_payload, k_entity, k_tbl, k_kind, k_col, k_dyn,
         k_exists, k_data, k_ver
    FROM d AS z;

  -- 3. the sequential fold: rows with several live events, and registry-added entities
  FOR r IN SELECT * FROM unnest(k_idx, k_eid, k_rid, k_client, k_seq, k_ts, k_base, k_op, k_payload, k_entity,
                                 k_tbl, k_kind, k_col, k_dyn, k_exists, k_data, k_ver)
                   AS u(idx, eid, rid, client, seq, ts, base, op, payload, entity, tbl, kind, col, dyn,
                        cur_exists, cur_data, cur_version)
            ORDER BY u.tbl COLLATE "C", u.rid COLLATE "C", coalesce(u.client, '') COLLATE "C", coalesce(u.seq, -1),
                     u.ts, u.eid COLLATE "C"
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
        EXECUTE format('SELECT t.%I, t.version FROM %I.%I t WHERE t.id = $1', r.col, s, r.tbl)
          INTO g_data, g_ver USING r.rid;
        g_exists0 := g_ver IS NOT NULL;
      ELSE
        g_exists0 := r.cur_exists; g_data := r.cur_data; g_ver := r.cur_version;
      END IF;
      g_exists := g_exists0;
      g_ver := coalesce(g_ver, 0);
    END IF;

    -- version checks (only with baseVersion)
    IF r.base IS NOT NULL AND ((g_exists AND r.base < g_ver) OR (NOT g_exists AND r.op = 'update')) THEN
      s_idx := s_idx || r.idx;
      s_res := s_res || CASE WHEN g_exists THEN
          jsonb_build_object('id', r.eid, 'outcome', 'conflict', 'version', g_ver,
            'current', jsonb_build_object('entity', g_entity, 'id', g_id, 'version', g_ver, 'data', g_data))
        ELSE jsonb_build_object('id', r.eid, 'outcome', 'conflict', 'current', NULL) END;
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

    s_idx := s_idx || r.idx;
    s_res := s_res || jsonb_build_object('id', r.eid, 'outcome', 'applied', 'version', ver);
    a_id := a_id || r.eid; a_client := a_client || r.client; a_seq := a_seq || r.seq; a_ver := a_ver || ver;
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

  -- all results, in input order
  SELECT array_agg(x.r ORDER BY x.i) INTO res FROM unnest(s_idx, s_res) AS x(i, r);

  -- 4. set-based writes of the built-in tables (static SQL), skipping what has nothing to do
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

  -- 5. the ledger (coalesced ids count as applied with their event's version) and the audit log
  INSERT INTO @schema@.applied_events (event_id, client_id, seq, batch_id, outcome, version)
  SELECT i, c, q, batch, 'applied', v FROM unnest(a_id, a_client, a_seq, a_ver) AS x(i, c, q, v);
  IF has_fold THEN
    INSERT INTO @schema@.applied_events (event_id, client_id, seq, batch_id, outcome, version)
    SELECT c.id, CASE WHEN jsonb_typeof(e -> 'clientId') = 'string' THEN e ->> 'clientId' END, NULL, batch, 'applied',
           (x.r ->> 'version')::bigint
      FROM unnest(res) WITH ORDINALITY AS x(r, j)
      JOIN jsonb_array_elements(events) WITH ORDINALITY AS v(e, i) ON v.i = x.j
     CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(e -> 'coalesced') = 'array'
                                                       THEN e -> 'coalesced' ELSE '[]'::jsonb END) AS c(id)
     WHERE x.r ->> 'outcome' = 'applied'
    ON CONFLICT (event_id) DO NOTHING;
  END IF;
  INSERT INTO @schema@.audit_log (batch_id, event_id, entity, entity_id, decision, version, reason, actor)
  SELECT batch, x.r ->> 'id', left(e ->> 'entity', 200), left(e ->> 'entityId', 500), x.r ->> 'outcome',
         (x.r ->> 'version')::bigint, x.r ->> 'reason',
         coalesce(sub, CASE WHEN jsonb_typeof(e -> 'clientId') = 'string' THEN left(e ->> 'clientId', 200) END)
    FROM unnest(res) WITH ORDINALITY AS x(r, j)
    JOIN jsonb_array_elements(events) WITH ORDINALITY AS v(e, i) ON v.i = x.j;

  RETURN to_jsonb(res);
END
$fn$;
