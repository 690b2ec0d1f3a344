-- mudsync schema: settings, entity registry, built-in entity tables, the ledger of applied events,
-- parked conflicts, the audit log, and the change-notification triggers.
-- @schema@ is replaced by the quoted schema name by the migrator.

CREATE SCHEMA IF NOT EXISTS @schema@;

-- Tunables read by the functions (not constants buried in code).
CREATE TABLE @schema@.settings (
  key         text PRIMARY KEY,
  value       jsonb NOT NULL,
  description text NOT NULL
);
INSERT INTO @schema@.settings (key, value, description) VALUES
  ('max_payload_bytes', '1048576', 'largest event payload accepted, in bytes of JSON text; larger ones are rejected'),
  ('lock_buckets', '1024', 'row keys hash into this many advisory locks; a batch takes its buckets in ascending order'),
  ('lock_table_above', '1000000', 'a batch with more events than this on one table locks that table whole (one exclusive lock) instead of per bucket; the default keeps bucket locks, so several drains interleave; a single writer may set it to ~64 to save about 1 ms per batch');

-- Entity registry: the only place entity and table names come from.
CREATE TABLE @schema@.entities (
  name        text PRIMARY KEY,
  table_name  text NOT NULL UNIQUE,
  kind        text NOT NULL CHECK (kind IN ('entries', 'document')),
  data_column text NOT NULL DEFAULT 'doc',
  builtin     boolean NOT NULL DEFAULT false
);
INSERT INTO @schema@.entities (name, table_name, kind, data_column, builtin) VALUES
  ('chart_data_source', 'charts', 'entries', 'data_source_config', true),
  ('curve', 'curves', 'document', 'doc', true),
  ('polygon', 'polygons', 'document', 'doc', true),
  ('well', 'wells', 'document', 'doc', true);

-- Row ids and event ids compare bytewise (COLLATE "C"): cheaper index maintenance than a locale.
CREATE TABLE @schema@.charts (
  id                 text COLLATE "C" PRIMARY KEY,
  data_source_config jsonb NOT NULL DEFAULT '[]'::jsonb,
  version            bigint NOT NULL,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  updated_by         text
);
CREATE TABLE @schema@.wells (
  id         text COLLATE "C" PRIMARY KEY,
  doc        jsonb NOT NULL,
  version    bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text
);
CREATE TABLE @schema@.polygons (LIKE @schema@.wells INCLUDING ALL);
CREATE TABLE @schema@.curves (LIKE @schema@.wells INCLUDING ALL);

-- One row per event id ever applied (column names are a public interface).
CREATE TABLE @schema@.applied_events (
  event_id   text COLLATE "C" PRIMARY KEY,
  client_id  text,
  seq        bigint,
  batch_id   uuid NOT NULL,
  outcome    text NOT NULL,
  version    bigint,
  applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE @schema@.conflicts (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id        text NOT NULL,
  entity          text NOT NULL,
  entity_id       text NOT NULL,
  base_version    bigint,
  current_version bigint,
  local           jsonb NOT NULL,
  remote          jsonb,
  status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
  resolution      text CHECK (resolution IN ('local', 'remote', 'merged')),
  merged          jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  created_by      text,
  resolved_at     timestamptz,
  resolved_by     text
);
CREATE UNIQUE INDEX conflicts_open_event_idx ON @schema@.conflicts (event_id) WHERE status = 'open';

-- Every decision: applied, duplicate, conflict, rejected (with reason), parked, resolved (how).
CREATE TABLE @schema@.audit_log (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT now(),
  batch_id  uuid,
  event_id  text,
  entity    text,
  entity_id text,
  decision  text NOT NULL,
  version   bigint,
  reason    text,
  actor     text
);

-- Realtime: one pg_notify per changed row on channel <schema>_changes, payload
-- {"entity","id","version","op","changedBy"}. Statement-level with transition tables, so a
-- set-based write costs one trigger call. changedBy: the row's updated_by; for deletes the map
-- apply_batch puts in the mudsync.deleted_by setting, else the JWT sub.
CREATE FUNCTION @schema@.notify_changes() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  channel text := TG_TABLE_SCHEMA || '_changes';
  entity  text := TG_ARGV[0];
  claims  jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
  deleted jsonb;
BEGIN
  IF TG_OP = 'DELETE' THEN
    deleted := coalesce(nullif(current_setting('mudsync.deleted_by', true), '')::jsonb, '{}'::jsonb);
    PERFORM pg_notify(channel, json_build_object('entity', entity, 'id', o.id, 'version', o.version + 1,
              'op', 'delete', 'changedBy', coalesce(deleted ->> o.id, claims ->> 'sub'))::text)
      FROM old_rows o;
  ELSIF TG_OP = 'INSERT' THEN
    PERFORM pg_notify(channel, json_build_object('entity', entity, 'id', n.id, 'version', n.version,
              'op', 'insert', 'changedBy', n.updated_by)::text)
      FROM new_rows n;
  ELSE
    PERFORM pg_notify(channel, json_build_object('entity', entity, 'id', n.id, 'version', n.version,
              'op', 'update', 'changedBy', n.updated_by)::text)
      FROM new_rows n;
  END IF;
  RETURN NULL;
END
$fn$;

-- Installs the three notification triggers on one entity table (used for built-ins and by register_entity).
CREATE FUNCTION @schema@.install_notify(tbl text, entity text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  s text := @schema_text@;
BEGIN
  EXECUTE format('CREATE TRIGGER notify_insert AFTER INSERT ON %I.%I REFERENCING NEW TABLE AS new_rows '
                 'FOR EACH STATEMENT EXECUTE FUNCTION %I.notify_changes(%L)', s, tbl, s, entity);
  EXECUTE format('CREATE TRIGGER notify_update AFTER UPDATE ON %I.%I REFERENCING NEW TABLE AS new_rows '
                 'FOR EACH STATEMENT EXECUTE FUNCTION %I.notify_changes(%L)', s, tbl, s, entity);
  EXECUTE format('CREATE TRIGGER notify_delete AFTER DELETE ON %I.%I REFERENCING OLD TABLE AS old_rows '
                 'FOR EACH STATEMENT EXECUTE FUNCTION %I.notify_changes(%L)', s, tbl, s, entity);
END
$fn$;

SELECT @schema@.install_notify(table_name, name) FROM @schema@.entities WHERE builtin;

-- Adds an entity backed by its own table (created when missing): the dynamic path of apply_batch.
CREATE FUNCTION @schema@.register_entity(entity text, tbl text, kind text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  s text := @schema_text@;
BEGIN
  IF kind NOT IN ('entries', 'document') THEN
    RAISE EXCEPTION 'register_entity: kind must be entries or document, got %', kind USING ERRCODE = '22023';
  END IF;
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I.%I (id text COLLATE "C" PRIMARY KEY, doc jsonb NOT NULL, version bigint NOT NULL, '
                 'updated_at timestamptz NOT NULL DEFAULT now(), updated_by text)', s, tbl);
  INSERT INTO @schema@.entities (name, table_name, kind, data_column, builtin) VALUES (entity, tbl, kind, 'doc', false);
  PERFORM @schema@.install_notify(tbl, entity);
END
$fn$;

-- The current row of one entity as {"entity","id","version","data","updatedAt","updatedBy"}, or null.
CREATE FUNCTION @schema@.get_row(entity text, entity_id text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  reg record;
  out jsonb;
BEGIN
  SELECT * INTO reg FROM @schema@.entities e WHERE e.name = entity;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown entity %', entity USING ERRCODE = '22023';
  END IF;
  EXECUTE format('SELECT jsonb_build_object(''entity'', $1, ''id'', t.id, ''version'', t.version, ''data'', t.%I, '
                 '''updatedAt'', t.updated_at, ''updatedBy'', t.updated_by) FROM %I.%I t WHERE t.id = $2',
                 reg.data_column, @schema_text@, reg.table_name)
    INTO out USING entity, entity_id;
  RETURN out;
END
$fn$;
