-- Row data compressed with lz4 instead of pglz where the server has lz4. A chart's entries list
-- (a few kB of JSON) is over the TOAST threshold, so every write of a chart compresses it and
-- every read decompresses it; lz4 does both several times faster than pglz.
--
-- Applies to values written from now on (a stored value keeps its method until it is rewritten,
-- and both read back the same). A server built without lz4 (PGlite among them) refuses the method
-- with feature_not_supported: the columns then keep pglz, and the migration still succeeds.
DO $mig$
BEGIN
  ALTER TABLE @schema@.charts ALTER COLUMN data_source_config SET COMPRESSION lz4;
  ALTER TABLE @schema@.wells ALTER COLUMN doc SET COMPRESSION lz4;
  ALTER TABLE @schema@.polygons ALTER COLUMN doc SET COMPRESSION lz4;
  ALTER TABLE @schema@.curves ALTER COLUMN doc SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'migration 009: this server has no lz4; row data stays compressed with pglz';
END
$mig$;

-- A table register_entity creates gets the same: its `doc` column is lz4 where the server has it.
-- A table that already existed is left as its owner made it.
CREATE OR REPLACE FUNCTION @schema@.register_entity(entity text, tbl text, kind text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  s       text := @schema_text@;
  created boolean;
BEGIN
  IF kind NOT IN ('entries', 'document') THEN
    RAISE EXCEPTION 'register_entity: kind must be entries or document, got %', kind USING ERRCODE = '22023';
  END IF;
  created := to_regclass(format('%I.%I', s, tbl)) IS NULL;
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I.%I (id text COLLATE "C" PRIMARY KEY, doc jsonb NOT NULL, version bigint NOT NULL, '
                 'updated_at timestamptz NOT NULL DEFAULT now(), updated_by text)', s, tbl);
  IF created THEN
    BEGIN
      EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN doc SET COMPRESSION lz4', s, tbl);
    EXCEPTION WHEN feature_not_supported THEN
      NULL;  -- no lz4 on this server: pglz, as before
    END;
  END IF;
  INSERT INTO @schema@.entities (name, table_name, kind, data_column, builtin) VALUES (entity, tbl, kind, 'doc', false);
  PERFORM @schema@.install_notify(tbl, entity);
END
$fn$;
