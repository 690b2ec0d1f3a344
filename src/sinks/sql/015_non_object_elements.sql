-- apply_batch, whole (as 013, with one change): a batch holding an element that is an array (`[]`,
-- `[{…}]`) failed whole with SQLSTATE 22023 ("argument of jsonb_to_recordset must be an array of
-- objects"), because the jsonpath that finds elements that are not objects ran in lax mode, which
-- unwraps arrays. Such an element is now found in strict mode and rejected like any other
-- non-object ("event: expected a JSON object"); the events beside it are decided as usual.
--
-- apply_batch, whole: the server function every sink calls, one batch per call and transaction.
-- This file holds its complete current definition; a later change to it is a new migration with
-- the whole function again, never a text patch (tests/unit/server-functions.test.ts checks that
-- the function the migrations leave is the one written in the last file that defines it).
--
-- events: a JSON array of wire events {id, type: add|remove|update, entity, entityId, payload,
-- timestamp, clientId?, seq?, baseVersion?, coalesced?}. Returns one result per event, in order:
-- {"id", "outcome": applied|duplicate|conflict|deferred|rejected, "version"?, "current"?, "reason"?}.
-- Steps:
-- 1. lock the rows the batch writes (advisory locks taken in ascending order, or one table lock for
--    a large batch on one table), and find the rows with several events;
-- 2. fold those rows event by event in (client, seq) order, checking baseVersion against the row
--    as it was before the client's own consecutive edits of it in this batch: edits a client made
--    one after another on the version it had seen (b) all pass while that client's chain applies,
--    instead of its second edit conflicting with its first. Once one edit of a client's chain
--    conflicts, its later edits of the row in the batch are `deferred` (not applied, not audited
--    as applied): applying them now would put them before the edit the strategy still has to
--    settle. The client sends them again after it;
-- 3. decide every single-event row in one statement: parse and validate (parse_events), find ids
--    already applied (duplicates) or given twice, check versions, write the rows, record the
--    ledger (applied_events) and one audit row for the batch, and build the results.
-- Entity and table names come only from the entities registry, never from event text.
CREATE OR REPLACE FUNCTION @schema@.apply_batch(events jsonb) RETURNS jsonb
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $fn$
#variable_conflict use_column
DECLARE
  s          text := @schema_text@;
  batch      uuid := gen_random_uuid();
  sub        text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  max_bytes  bigint;
  buckets    int;
  whole_above int;
  guarded    boolean;
  n          int;
  src        jsonb := events;
  not_obj    int[] := '{}';
  fold_idx   int[];
  fold_mask  boolean[];
  fold_at    int;
  rep_ids    text[];
  rep_first  int[];
  fast       boolean;
  has_non_obj boolean;
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
  -- the client whose consecutive edits of the current row are being folded, the row's version
  -- before them, whether all of them applied so far, and whether one of them conflicted
  ch_client text; ch_start bigint; ch_ok boolean; ch_held boolean;
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
         max((value #>> '{}')::int) FILTER (WHERE key = 'lock_table_above'),
         -- whether row-level security applies to this user on a built-in table (see the inserts below)
         row_security_active('@schema@.charts'::regclass) OR row_security_active('@schema@.wells'::regclass)
           OR row_security_active('@schema@.polygons'::regclass) OR row_security_active('@schema@.curves'::regclass)
    INTO max_bytes, buckets, whole_above, guarded
    FROM @schema@.settings WHERE key IN ('max_payload_bytes', 'lock_buckets', 'lock_table_above');
  whole_above := coalesce(whole_above, 64);

  -- elements that are not objects (jsonb_to_recordset would fail on them): replaced by {}, rejected.
  -- Strict mode: lax mode unwraps an element that is an array, so `[]` or `[{…}]` went unseen here
  -- (and passed typed_batch), and the whole batch failed on jsonb_to_recordset instead.
  has_non_obj := jsonb_path_exists(events, 'strict $[*] ? (@.type() != "object")');
  -- the common batch is read through typed columns (004: typed_batch, parse_events)
  fast := NOT has_non_obj AND @schema@.typed_batch(events);
  IF has_non_obj THEN
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
  ), rep AS (
    -- event ids given more than once, with their first position: hashed, cheaper than a window
    -- over the whole batch sorted by id
    SELECT CASE WHEN jsonb_typeof(y.id) = 'string' THEN y.id #>> '{}' END AS eid, min(y.ord)::int AS first
      FROM ROWS FROM (jsonb_to_recordset(src) AS (id jsonb)) WITH ORDINALITY AS y(id, ord)
     GROUP BY y.id HAVING count(*) > 1
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
           WHERE x.op = 'remove' AND x.kind = 'document' AND rw.n = 1 AND NOT rw.dyn),
         coalesce((SELECT array_agg(rep.eid) FROM rep WHERE rep.eid IS NOT NULL), '{}'),
         coalesce((SELECT array_agg(rep.first) FROM rep WHERE rep.eid IS NOT NULL), '{}')
    INTO n, fold_idx, deleted, rep_ids, rep_first;

  -- 2. the sequential fold: rows with several events, and registry-added entities
  IF fold_idx IS NOT NULL THEN
    fold_mask := array_fill(false, ARRAY[jsonb_array_length(src)]);
    FOREACH fold_at IN ARRAY fold_idx LOOP
      fold_mask[fold_at] := true;
    END LOOP;
    FOR r IN SELECT e.*, cur.data AS cur_data, cur.version AS cur_version
               FROM @schema@.parse_events(src, not_obj, max_bytes, rep_ids, rep_first, fast) e
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
              WHERE fold_mask[e.idx] AND e.reason IS NULL AND NOT e.repeat
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
        ch_client := NULL;
      END IF;
      f_idx := f_idx || r.idx;
      IF ch_client IS NULL OR r.client IS DISTINCT FROM ch_client THEN
        ch_client := coalesce(r.client, ''); ch_start := g_ver; ch_ok := r.client IS NOT NULL; ch_held := false;
      END IF;
      IF ch_held THEN
        f_out := f_out || 'deferred'::text;
        f_ver := f_ver || NULL::bigint;
        f_cur := f_cur || NULL::jsonb;
        CONTINUE;
      END IF;

      -- version checks (only with baseVersion), against the row before this client's chain
      IF r.base IS NOT NULL
         AND ((g_exists AND r.base < CASE WHEN ch_ok THEN ch_start ELSE g_ver END) OR (NOT g_exists AND r.op = 'update')) THEN
        ch_ok := false;
        ch_held := r.client IS NOT NULL;
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
      FROM @schema@.parse_events(src, not_obj, max_bytes, rep_ids, rep_first, fast) p
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
    -- a plain INSERT: the rows were read after the locks, so a key that exists was seen. Only
    -- row-level security can hide one; then (guarded) ON CONFLICT DO NOTHING makes it a rejection
    -- instead of failing the batch (the arbiter check has a cost, so only then).
    INSERT INTO @schema@.charts (id, data_source_config, version, updated_by)
    SELECT x.i, x.d, x.v, x.b FROM wr x WHERE x.o = 'i' AND x.t = 'charts' AND NOT guarded
    RETURNING 'charts'::text AS t, id AS i
  ), cig AS (
    INSERT INTO @schema@.charts (id, data_source_config, version, updated_by)
    SELECT x.i, x.d, x.v, x.b FROM wr x WHERE x.o = 'i' AND x.t = 'charts' AND guarded
    ON CONFLICT (id) DO NOTHING RETURNING 'charts'::text AS t, id AS i
  ), cu AS (
    UPDATE @schema@.charts y SET data_source_config = x.d, version = x.v, updated_at = now(), updated_by = x.b
      FROM wr x WHERE x.o = 'u' AND x.t = 'charts' AND y.id = x.i RETURNING 'charts'::text AS t, y.id AS i
  ), wi AS (
    INSERT INTO @schema@.wells (id, doc, version, updated_by)
    SELECT x.i, x.d, x.v, x.b FROM wr x WHERE x.o = 'i' AND x.t = 'wells' AND NOT guarded
    RETURNING 'wells'::text AS t, id AS i
  ), wig AS (
    INSERT INTO @schema@.wells (id, doc, version, updated_by)
    SELECT x.i, x.d, x.v, x.b FROM wr x WHERE x.o = 'i' AND x.t = 'wells' AND guarded
    ON CONFLICT (id) DO NOTHING RETURNING 'wells'::text AS t, id AS i
  ), wu AS (
    UPDATE @schema@.wells y SET doc = x.d, version = x.v, updated_at = now(), updated_by = x.b
      FROM wr x WHERE x.o = 'u' AND x.t = 'wells' AND y.id = x.i RETURNING 'wells'::text AS t, y.id AS i
  ), wd AS (
    DELETE FROM @schema@.wells y USING wr x WHERE x.o = 'd' AND x.t = 'wells' AND y.id = x.i
    RETURNING 'wells'::text AS t, y.id AS i
  ), pi AS (
    INSERT INTO @schema@.polygons (id, doc, version, updated_by)
    SELECT x.i, x.d, x.v, x.b FROM wr x WHERE x.o = 'i' AND x.t = 'polygons' AND NOT guarded
    RETURNING 'polygons'::text AS t, id AS i
  ), pig AS (
    INSERT INTO @schema@.polygons (id, doc, version, updated_by)
    SELECT x.i, x.d, x.v, x.b FROM wr x WHERE x.o = 'i' AND x.t = 'polygons' AND guarded
    ON CONFLICT (id) DO NOTHING RETURNING 'polygons'::text AS t, id AS i
  ), pu AS (
    UPDATE @schema@.polygons y SET doc = x.d, version = x.v, updated_at = now(), updated_by = x.b
      FROM wr x WHERE x.o = 'u' AND x.t = 'polygons' AND y.id = x.i RETURNING 'polygons'::text AS t, y.id AS i
  ), pd AS (
    DELETE FROM @schema@.polygons y USING wr x WHERE x.o = 'd' AND x.t = 'polygons' AND y.id = x.i
    RETURNING 'polygons'::text AS t, y.id AS i
  ), vi AS (
    INSERT INTO @schema@.curves (id, doc, version, updated_by)
    SELECT x.i, x.d, x.v, x.b FROM wr x WHERE x.o = 'i' AND x.t = 'curves' AND NOT guarded
    RETURNING 'curves'::text AS t, id AS i
  ), vig AS (
    INSERT INTO @schema@.curves (id, doc, version, updated_by)
    SELECT x.i, x.d, x.v, x.b FROM wr x WHERE x.o = 'i' AND x.t = 'curves' AND guarded
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
      LEFT JOIN (SELECT * FROM ci UNION ALL SELECT * FROM cig UNION ALL SELECT * FROM cu
                 UNION ALL SELECT * FROM wi UNION ALL SELECT * FROM wig UNION ALL SELECT * FROM wu UNION ALL SELECT * FROM wd
                 UNION ALL SELECT * FROM pi UNION ALL SELECT * FROM pig UNION ALL SELECT * FROM pu UNION ALL SELECT * FROM pd
                 UNION ALL SELECT * FROM vi UNION ALL SELECT * FROM vig UNION ALL SELECT * FROM vu UNION ALL SELECT * FROM vd) done
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
    -- one audit row per batch, its decisions in parallel arrays (the audit_log view unnests them)
    INSERT INTO @schema@.audit_records (batch_id, positions, event_ids, entities, entity_ids, decisions, versions, reasons, actors)
    SELECT batch, array_agg(fin.idx), array_agg(fin.eid), array_agg(coalesce(fin.entity, fin.raw_entity)),
           array_agg(coalesce(fin.rid, fin.raw_rid)), array_agg(fin.o), array_agg(fin.v), array_agg(fin.r),
           array_agg(coalesce(sub, left(fin.client, 200)))
      FROM fin
  )
  -- the result written as JSON text and read once: cheaper than building 1000 jsonb objects
  SELECT ('[' || string_agg('{"id":' || coalesce(to_json(fin.eid)::text, 'null') || ',"outcome":"' || fin.o || '"'
                            || CASE WHEN fin.o = 'rejected' THEN ',"reason":' || coalesce(to_json(fin.r)::text, 'null')
                                    WHEN fin.o = 'applied' OR fin.v IS NOT NULL
                                    THEN ',"version":' || coalesce(fin.v::text, 'null') ELSE '' END
                            || CASE WHEN fin.o = 'conflict' THEN ',"current":' || coalesce(fin.c::text, 'null') ELSE '' END
                            || '}', ',' ORDER BY fin.idx) || ']')::jsonb,
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
