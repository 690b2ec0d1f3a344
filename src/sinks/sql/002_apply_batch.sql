-- apply_batch(events jsonb) returns jsonb: one batch, one transaction, one round trip, in three steps.
-- 1. lock: one statement reads the batch's row keys (jsonb_to_recordset) and takes the locks. Every
--    row key hashes to an advisory lock bucket. Per table, a batch with at most `lock_table_above`
--    events on it takes a shared lock on the table's key, then its buckets in ascending order; a
--    batch with more takes one exclusive lock on the table's key instead (two such batches would
--    almost surely share a bucket anyway, and one lock replaces hundreds). Table keys are always
--    taken before bucket keys, each in ascending order: no deadlocks. The same statement finds the
--    rows that need the sequential fold (several events on one row, or a registry-added entity).
--    An element that is not a JSON object is replaced by {} first (and rejected), so it cannot fail
--    the parse;
-- 2. the fold (only when the batch has such rows): a loop over their events in (table, id,
--    clientId, seq, timestamp, event id) order, which leaves its results and row writes in arrays
--    (registry-added entities are written here, with dynamic SQL; table names from the registry);
-- 3. one set-based statement does the rest, each part once per batch: parse and validate
--    (parse_events, inlined into the plan), find duplicates, read the current rows and decide every
--    row with a single event, write each built-in table (one INSERT / UPDATE / DELETE per table and
--    kind of write, static SQL, fold writes included), the ledger (applied_events, one row per
--    applied event id) and the audit log (one row per decision: every decision is audited),
--    and build the result. Inserts are ON CONFLICT DO NOTHING and every write returns the keys it
--    wrote: a row that was not written is one row-level security hides from this user (the key
--    exists but is invisible, or the UPDATE/DELETE policy filters it out), and its events become
--    `rejected` instead of failing the batch. Coalesced ids are added to the ledger after it.
-- Why this shape: every statement costs a pass over the batch, and a batch carried between
-- statements as an array of composites costs more than reading the jsonb again; so the common
-- batch (no row edited twice) runs the settings read, the lock and the main statement only.
-- The writes themselves (rows with their NOTIFY trigger, ledger, audit, result) are about half of
-- the cost. Every empty INSERT/UPDATE/DELETE still fires its statement trigger, which makes a
-- one-event batch dearer than a loop would be.
-- Requires READ COMMITTED (the default): the main statement starts after the locks, so its
-- snapshot sees every write committed before them.

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

-- The events of a batch as typed rows with their validation result (NULL reason: valid). not_obj:
-- positions that were not JSON objects (the caller replaced them by {}); repeat: the event id
-- occurred earlier in the batch. raw_entity / raw_rid: the text given when entity / rid is
-- NULL (for the audit log). A single-SELECT SQL function, so it is inlined into the
-- calling statement's plan.
CREATE FUNCTION @schema@.parse_events(events jsonb, not_obj int[], max_bytes bigint)
RETURNS TABLE (idx int, eid text, op text, entity text, raw_entity text, rid text, raw_rid text, payload jsonb,
               ts float8, client text, seq bigint, base bigint, coalesced jsonb, tbl text, kind text, col text,
               dyn boolean, reason text, repeat boolean)
LANGUAGE sql STABLE AS $fn$
  SELECT p.idx, p.eid, p.op, reg.name, CASE WHEN reg.name IS NULL THEN left(p.j_entity #>> '{}', 200) END,
         p.rid, CASE WHEN p.rid IS NULL THEN left(p."entityId" #>> '{}', 500) END, p.payload,
         p.ts, p.client, p.seq, p.base, p.coalesced, reg.table_name, reg.kind, reg.data_column, NOT reg.builtin,
         CASE
           WHEN p.idx = ANY ($2) THEN 'event: expected a JSON object'
           WHEN p.eid IS NULL OR p.eid = '' OR length(p.eid) > 200 THEN 'id: expected a string of 1 to 200 characters'
           WHEN p.op IS NULL OR p.op NOT IN ('add', 'remove', 'update') THEN 'type: expected add, remove or update'
           WHEN jsonb_typeof(p.j_entity) IS DISTINCT FROM 'string' THEN 'entity: expected a string'
           WHEN reg.name IS NULL THEN 'entity: unknown entity "' || left(p.j_entity #>> '{}', 100) || '"'
           WHEN p.rid IS NULL OR p.rid = '' OR length(p.rid) > 500 THEN 'entityId: expected a string of 1 to 500 characters'
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
           WHEN pg_column_size(p.payload) > $3 / 8 AND octet_length(p.payload::text) > $3
             THEN format('payload: %s bytes of JSON is over the limit of %s bytes', octet_length(p.payload::text), $3)
         END,
         p.repeat
    FROM (SELECT q.*, q.eid IS NOT NULL AND q.idx > min(q.idx) OVER (PARTITION BY q.eid COLLATE "C") AS repeat FROM (
          SELECT x.ord::int AS idx,
                 CASE WHEN jsonb_typeof(x.id) = 'string' THEN x.id #>> '{}' END AS eid,
                 x.type AS op, x.entity AS j_entity, x."entityId",
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
            FROM ROWS FROM (jsonb_to_recordset($1) AS (id jsonb, type text, entity jsonb, "entityId" jsonb, payload jsonb,
                                                       "timestamp" jsonb, "clientId" jsonb, seq jsonb, "baseVersion" jsonb,
                                                       coalesced jsonb))
                 WITH ORDINALITY AS x(id, type, entity, "entityId", payload, "timestamp", "clientId", seq, "baseVersion",
                                      coalesced, ord)) q) p
    LEFT JOIN @schema@.entities reg ON jsonb_typeof(p.j_entity) = 'string' AND reg.name = p.j_entity #>> '{}'
  OFFSET 0  -- a barrier: each column is computed once, however often the caller uses it
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
  src        jsonb := events;
  not_obj    int[] := '{}';
  fold_idx   int[];
  deleted    jsonb;
  -- results of the fold (one element per folded event) and the row writes it leaves
  f_idx int[] := '{}'; f_out text[] := '{}'; f_ver bigint[] := '{}'; f_cur jsonb[] := '{}';
  w_op text[] := '{}'; w_tbl text[] := '{}'; w_id text[] := '{}'; w_data jsonb[] := '{}'; w_ver bigint[] := '{}';
  w_by text[] := '{}';
  r          record;
  -- the row being folded
  g_tbl text; g_id text; g_kind text; g_col text; g_dyn boolean; g_entity text;
  g_exists0 boolean; g_exists boolean; g_data jsonb; g_ver bigint; g_by text; g_changed boolean := false;
  nd jsonb;
  ver bigint;
  -- applied events with coalesced ids (for the ledger)
  c_ids jsonb[]; c_client text[]; c_ver bigint[];
  out jsonb;
BEGIN
  IF jsonb_typeof(events) IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'apply_batch: events must be a JSON array, got %', coalesce(jsonb_typeof(events), 'null')
      USING ERRCODE = '22023';
  END IF;
  IF jsonb_array_length(events) = 0 THEN
    RETURN '[]'::jsonb;
  END IF;
  SELECT max((value #>> '{}')::bigint) FILTER (WHERE key = 'max_payload_bytes'),
         max((value #>> '{}')::int) FILTER (WHERE key = 'lock_buckets'),
         max((value #>> '{}')::int) FILTER (WHERE key = 'lock_table_above')
    INTO max_bytes, buckets, whole_above
    FROM @schema@.settings WHERE key IN ('max_payload_bytes', 'lock_buckets', 'lock_table_above');
  whole_above := coalesce(whole_above, 64);

  -- elements that are not objects (jsonb_to_recordset would fail on them): replaced by {}, rejected
  IF jsonb_path_exists(events, '$[*] ? (@.type() != "object")') THEN
    SELECT array_agg(i::int) FILTER (WHERE jsonb_typeof(e) <> 'object'),
           jsonb_agg(CASE WHEN jsonb_typeof(e) = 'object' THEN e ELSE '{}'::jsonb END ORDER BY i)
      INTO not_obj, src
      FROM jsonb_array_elements(events) WITH ORDINALITY AS t(e, i);
  END IF;

  -- 1. lock: per table either one exclusive table key, or a shared table key and the buckets; and
  --    the batch's shape: the events of rows to fold, who deletes each single-event row. Text columns
  --    (not validated here): an invalid event at worst adds a lock or sends its row to the fold,
  --    which validates
  WITH x AS (
    SELECT x.ord::int AS idx, x.type AS op, reg.table_name AS tbl, reg.kind, NOT reg.builtin AS dyn, x."entityId" AS rid,
           x."clientId" AS client
      FROM ROWS FROM (jsonb_to_recordset(src) AS (type text, entity text, "entityId" text, "clientId" text))
           WITH ORDINALITY AS x(type, entity, "entityId", "clientId", ord)
      JOIN @schema@.entities reg ON reg.name = x.entity
     WHERE x."entityId" IS NOT NULL
  ), rw AS (
    SELECT tbl, rid, count(*) AS n, bool_or(dyn) AS dyn FROM x GROUP BY 1, 2
  ), t AS (
    SELECT tbl, sum(n) > whole_above AS whole FROM rw GROUP BY 1
  )
  SELECT (SELECT count(CASE WHEN l.whole THEN pg_advisory_xact_lock(hashtext(s || '.tables'), hashtext(l.tbl))
                            WHEN l.b IS NULL THEN pg_advisory_xact_lock_shared(hashtext(s || '.tables'), hashtext(l.tbl))
                            ELSE pg_advisory_xact_lock(hashtext(s || '.rows'), l.b) END)
            FROM (SELECT t.tbl, t.whole, NULL::int AS b, 0 AS phase, hashtext(t.tbl) AS k FROM t
                  UNION ALL
                  SELECT DISTINCT NULL, false, (hashtext(rw.tbl || ':' || rw.rid) & 2147483647) % buckets, 1, 0
                    FROM rw JOIN t ON t.tbl = rw.tbl AND NOT t.whole
                  ORDER BY 4, 5, 3) l),
         (SELECT array_agg(x.idx) FROM x JOIN rw ON rw.tbl = x.tbl AND rw.rid = x.rid WHERE rw.n > 1 OR rw.dyn),
         (SELECT jsonb_object_agg(x.rid, coalesce(sub, x.client)) FROM x JOIN rw ON rw.tbl = x.tbl AND rw.rid = x.rid
           WHERE x.op = 'remove' AND x.kind = 'document' AND rw.n = 1 AND NOT rw.dyn)
    INTO n, fold_idx, deleted;

  -- 2. the sequential fold: rows with several events, and registry-added entities
  IF fold_idx IS NOT NULL THEN
    FOR r IN SELECT e.*, cur.data AS cur_data, cur.version AS cur_version
               FROM @schema@.parse_events(src, not_obj, max_bytes) e
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
               JOIN unnest(fold_idx) AS fi(idx) ON fi.idx = e.idx
              WHERE e.reason IS NULL AND NOT e.repeat
                AND NOT EXISTS (SELECT 1 FROM @schema@.applied_events a WHERE a.event_id = e.eid)
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
      f_idx := f_idx || r.idx;

      -- version checks (only with baseVersion)
      IF r.base IS NOT NULL AND ((g_exists AND r.base < g_ver) OR (NOT g_exists AND r.op = 'update')) THEN
        f_out := f_out || 'conflict'::text;
        f_ver := f_ver || CASE WHEN g_exists THEN g_ver END;
        f_cur := f_cur || CASE WHEN g_exists
                               THEN jsonb_build_object('entity', g_entity, 'id', g_id, 'version', g_ver, 'data', g_data)
                               ELSE 'null'::jsonb END;
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
      f_out := f_out || 'applied'::text;
      f_ver := f_ver || ver;
      f_cur := f_cur || NULL::jsonb;
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
    SELECT coalesce(deleted, '{}'::jsonb) || coalesce(jsonb_object_agg(i, b), '{}'::jsonb) INTO deleted
      FROM unnest(w_op, w_id, w_by) AS x(o, i, b) WHERE o = 'd';
  END IF;
  -- who deleted each row, for the delete trigger's notification
  IF deleted IS NOT NULL AND deleted <> '{}'::jsonb THEN
    PERFORM set_config('mudsync.deleted_by', deleted::text, true);
  END IF;

  -- 3. parse, duplicates, current rows, decisions, writes, ledger, audit and result: one statement
  WITH e AS MATERIALIZED (
    SELECT p.idx, p.eid, p.op, p.entity, p.raw_entity, p.rid, p.raw_rid, p.payload, p.client, p.seq, p.base, p.coalesced,
           p.tbl, p.kind, p.reason, p.repeat, f.o AS f_o, f.v AS f_v, f.c AS f_c,
           CASE WHEN p.reason IS NULL AND NOT p.repeat AND f.idx IS NULL THEN
             (SELECT coalesce(a.version, -1) FROM @schema@.applied_events a WHERE a.event_id = p.eid) END AS dupv,
           p.reason IS NULL AND NOT p.repeat AND f.idx IS NULL AND NOT p.dyn AS single
      FROM @schema@.parse_events(src, not_obj, max_bytes) p
      LEFT JOIN unnest(f_idx, f_out, f_ver, f_cur) AS f(idx, o, v, c) ON f.idx = p.idx
  ), i AS (
    SELECT e.*, e.single AND e.dupv IS NULL AS live, cur.id IS NOT NULL AS cur_exists, cur.data AS cur_data,
           cur.version AS cur_version
      FROM e
      LEFT JOIN LATERAL (
             SELECT x.id, x.data_source_config AS data, x.version FROM @schema@.charts x
              WHERE e.single AND e.dupv IS NULL AND e.tbl = 'charts' AND x.id = e.rid
             UNION ALL
             SELECT x.id, x.doc, x.version FROM @schema@.wells x
              WHERE e.single AND e.dupv IS NULL AND e.tbl = 'wells' AND x.id = e.rid
             UNION ALL
             SELECT x.id, x.doc, x.version FROM @schema@.polygons x
              WHERE e.single AND e.dupv IS NULL AND e.tbl = 'polygons' AND x.id = e.rid
             UNION ALL
             SELECT x.id, x.doc, x.version FROM @schema@.curves x
              WHERE e.single AND e.dupv IS NULL AND e.tbl = 'curves' AND x.id = e.rid
           ) cur ON true
  ), k AS (
    SELECT i.*, i.live AND i.base IS NOT NULL
                AND ((i.cur_exists AND i.base < i.cur_version) OR (NOT i.cur_exists AND i.op = 'update')) AS conflict
      FROM i
  ), d AS (
    SELECT k.idx, k.eid, k.entity, k.raw_entity, k.tbl, k.rid, k.raw_rid, k.client, k.seq, k.coalesced, k.reason, k.repeat,
           k.f_o, k.f_v, k.f_c, k.dupv, k.cur_exists, k.cur_data, k.cur_version, k.conflict, w.nd,
           CASE WHEN w.nd IS NOT NULL THEN CASE WHEN k.cur_exists THEN 'u' ELSE 'i' END WHEN w.del THEN 'd' END AS wop,
           coalesce(k.cur_version, 0) + CASE WHEN w.nd IS NOT NULL OR w.del THEN 1 ELSE 0 END AS ver
      FROM k
     CROSS JOIN LATERAL (
       SELECT CASE
                WHEN NOT k.live OR k.conflict THEN NULL
                WHEN k.kind = 'document' AND k.op = 'remove' THEN NULL
                WHEN k.kind = 'document' AND k.op = 'update' AND k.cur_exists THEN k.cur_data || k.payload
                WHEN k.kind = 'document' THEN k.payload
                WHEN k.op = 'remove' AND NOT k.cur_exists THEN NULL
                ELSE @schema@.fold_entries(coalesce(k.cur_data, '[]'::jsonb), k.op, k.payload)
              END AS nd,
              k.live AND NOT k.conflict AND k.kind = 'document' AND k.op = 'remove' AND k.cur_exists AS del
     ) w
  ), wr AS (
    -- every row write of the built-in tables: the single-event rows decided here and the folded rows
    SELECT d.wop AS o, d.tbl AS t, d.rid AS i, d.nd AS d, d.ver AS v, coalesce(sub, d.client) AS b FROM d WHERE d.wop IS NOT NULL
    UNION ALL
    SELECT * FROM unnest(w_op, w_tbl, w_id, w_data, w_ver, w_by)
  ), ci AS (
    INSERT INTO @schema@.charts (id, data_source_config, version, updated_by)
    SELECT x.i, x.d, x.v, x.b FROM wr x WHERE x.o = 'i' AND x.t = 'charts'
    ON CONFLICT (id) DO NOTHING RETURNING 'charts'::text AS t, id AS i
  ), cu AS (
    UPDATE @schema@.charts y SET data_source_config = x.d, version = x.v, updated_at = now(), updated_by = x.b
      FROM wr x WHERE x.o = 'u' AND x.t = 'charts' AND y.id = x.i RETURNING 'charts'::text AS t, y.id AS i
  ), wi AS (
    INSERT INTO @schema@.wells (id, doc, version, updated_by)
    SELECT x.i, x.d, x.v, x.b FROM wr x WHERE x.o = 'i' AND x.t = 'wells'
    ON CONFLICT (id) DO NOTHING RETURNING 'wells'::text AS t, id AS i
  ), wu AS (
    UPDATE @schema@.wells y SET doc = x.d, version = x.v, updated_at = now(), updated_by = x.b
      FROM wr x WHERE x.o = 'u' AND x.t = 'wells' AND y.id = x.i RETURNING 'wells'::text AS t, y.id AS i
  ), wd AS (
    DELETE FROM @schema@.wells y USING wr x WHERE x.o = 'd' AND x.t = 'wells' AND y.id = x.i
    RETURNING 'wells'::text AS t, y.id AS i
  ), pi AS (
    INSERT INTO @schema@.polygons (id, doc, version, updated_by)
    SELECT x.i, x.d, x.v, x.b FROM wr x WHERE x.o = 'i' AND x.t = 'polygons'
    ON CONFLICT (id) DO NOTHING RETURNING 'polygons'::text AS t, id AS i
  ), pu AS (
    UPDATE @schema@.polygons y SET doc = x.d, version = x.v, updated_at = now(), updated_by = x.b
      FROM wr x WHERE x.o = 'u' AND x.t = 'polygons' AND y.id = x.i RETURNING 'polygons'::text AS t, y.id AS i
  ), pd AS (
    DELETE FROM @schema@.polygons y USING wr x WHERE x.o = 'd' AND x.t = 'polygons' AND y.id = x.i
    RETURNING 'polygons'::text AS t, y.id AS i
  ), vi AS (
    INSERT INTO @schema@.curves (id, doc, version, updated_by)
    SELECT x.i, x.d, x.v, x.b FROM wr x WHERE x.o = 'i' AND x.t = 'curves'
    ON CONFLICT (id) DO NOTHING RETURNING 'curves'::text AS t, id AS i
  ), vu AS (
    UPDATE @schema@.curves y SET doc = x.d, version = x.v, updated_at = now(), updated_by = x.b
      FROM wr x WHERE x.o = 'u' AND x.t = 'curves' AND y.id = x.i RETURNING 'curves'::text AS t, y.id AS i
  ), vd AS (
    DELETE FROM @schema@.curves y USING wr x WHERE x.o = 'd' AND x.t = 'curves' AND y.id = x.i
    RETURNING 'curves'::text AS t, y.id AS i
  ), hidden AS (
    -- rows not written: hidden from this user by row-level security; their events are rejected
    SELECT wr.t, wr.i FROM wr
      LEFT JOIN (SELECT * FROM ci UNION ALL SELECT * FROM cu UNION ALL SELECT * FROM wi UNION ALL SELECT * FROM wu
                 UNION ALL SELECT * FROM wd UNION ALL SELECT * FROM pi UNION ALL SELECT * FROM pu UNION ALL SELECT * FROM pd
                 UNION ALL SELECT * FROM vi UNION ALL SELECT * FROM vu UNION ALL SELECT * FROM vd) done
        ON done.t = wr.t AND done.i = wr.i
     WHERE done.i IS NULL
  ), o AS (
    SELECT d.idx, d.eid, d.entity, d.raw_entity, d.tbl, d.rid, d.raw_rid, d.client, d.seq, d.coalesced, d.repeat,
           CASE WHEN d.reason IS NOT NULL THEN 'rejected' WHEN d.dupv IS NOT NULL OR d.repeat THEN 'duplicate'
                WHEN d.f_o IS NOT NULL THEN d.f_o WHEN d.conflict THEN 'conflict' ELSE 'applied' END AS o,
           CASE WHEN d.reason IS NOT NULL OR d.repeat THEN NULL WHEN d.dupv IS NOT NULL THEN nullif(d.dupv, -1)
                WHEN d.f_o IS NOT NULL THEN d.f_v WHEN d.conflict THEN d.cur_version ELSE d.ver END AS v,
           CASE WHEN d.f_o IS NOT NULL THEN d.f_c
                WHEN d.conflict AND d.cur_exists
                THEN jsonb_build_object('entity', d.entity, 'id', d.rid, 'version', d.cur_version, 'data', d.cur_data)
                WHEN d.conflict THEN 'null'::jsonb END AS c,
           d.reason AS r
      FROM d
  ), fin AS (
    -- (hidden is empty unless row-level security filtered a write: a hashed IN, not a join)
    SELECT o.idx, o.eid, o.entity, o.raw_entity, o.rid, o.raw_rid, o.client, o.seq, o.coalesced, o.c,
           CASE WHEN o.h THEN 'rejected' ELSE o.o END AS o,
           CASE WHEN o.h THEN NULL
                -- a repeated id reports the version its first occurrence got
                WHEN o.repeat THEN (SELECT y.v FROM o y WHERE y.eid = o.eid AND NOT y.repeat AND y.o = 'applied'
                                       AND (y.tbl, y.rid) NOT IN (SELECT z.t, z.i FROM hidden z))
                ELSE o.v END AS v,
           CASE WHEN o.h THEN 'row not visible to this user (row-level security)' ELSE o.r END AS r
      FROM (SELECT o.*, o.o = 'applied' AND (o.tbl, o.rid) IN (SELECT z.t, z.i FROM hidden z) AS h FROM o) o
  ), led AS (
    INSERT INTO @schema@.applied_events (event_id, client_id, seq, batch_id, outcome, version)
    SELECT fin.eid, fin.client, fin.seq, batch, 'applied', fin.v FROM fin WHERE fin.o = 'applied'
  ), aud AS (
    INSERT INTO @schema@.audit_log (batch_id, event_id, entity, entity_id, decision, version, reason, actor)
    SELECT batch, fin.eid, coalesce(fin.entity, fin.raw_entity), coalesce(fin.rid, fin.raw_rid), fin.o, fin.v, fin.r,
           coalesce(sub, left(fin.client, 200))
      FROM fin
  )
  SELECT jsonb_agg(CASE fin.o
                     WHEN 'applied' THEN jsonb_build_object('id', fin.eid, 'outcome', 'applied', 'version', fin.v)
                     WHEN 'rejected' THEN jsonb_build_object('id', fin.eid, 'outcome', 'rejected', 'reason', fin.r)
                     WHEN 'conflict' THEN CASE WHEN fin.v IS NULL
                       THEN jsonb_build_object('id', fin.eid, 'outcome', 'conflict', 'current', fin.c)
                       ELSE jsonb_build_object('id', fin.eid, 'outcome', 'conflict', 'version', fin.v, 'current', fin.c) END
                     ELSE CASE WHEN fin.v IS NULL THEN jsonb_build_object('id', fin.eid, 'outcome', fin.o)
                       ELSE jsonb_build_object('id', fin.eid, 'outcome', fin.o, 'version', fin.v) END
                   END ORDER BY fin.idx),
         array_agg(fin.coalesced) FILTER (WHERE fin.o = 'applied' AND jsonb_typeof(fin.coalesced) = 'array'),
         array_agg(fin.client) FILTER (WHERE fin.o = 'applied' AND jsonb_typeof(fin.coalesced) = 'array'),
         array_agg(fin.v) FILTER (WHERE fin.o = 'applied' AND jsonb_typeof(fin.coalesced) = 'array')
    INTO out, c_ids, c_client, c_ver
    FROM fin;

  -- coalesced ids count as applied with their event's version
  IF c_ids IS NOT NULL THEN
    INSERT INTO @schema@.applied_events (event_id, client_id, seq, batch_id, outcome, version)
    SELECT c.id, x.client, NULL, batch, 'applied', x.v
      FROM unnest(c_ids, c_client, c_ver) AS x(ids, client, v)
     CROSS JOIN LATERAL jsonb_array_elements_text(x.ids) AS c(id)
    ON CONFLICT (event_id) DO NOTHING;
  END IF;
  RETURN out;
END
$fn$;
