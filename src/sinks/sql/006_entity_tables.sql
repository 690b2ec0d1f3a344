-- The built-in entity tables: cheaper change notifications and room for in-page updates.
--
-- Notifications: the same one per changed row as 001 ({"entity","id","version","op","changedBy"}
-- on <schema>_changes), written as JSON text by concatenation: json_build_object looked up the
-- output function of each of its ten arguments for every row.
CREATE OR REPLACE FUNCTION @schema@.notify_changes() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  channel text := TG_TABLE_SCHEMA || '_changes';
  head    text := '{"entity":' || to_json(TG_ARGV[0]::text)::text || ',"id":';
  claims  jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
  deleted jsonb;
BEGIN
  IF TG_OP = 'DELETE' THEN
    deleted := coalesce(nullif(current_setting('mudsync.deleted_by', true), '')::jsonb, '{}'::jsonb);
    PERFORM pg_notify(channel, head || to_json(o.id::text)::text || ',"version":' || (o.version + 1)
              || ',"op":"delete","changedBy":' || coalesce(to_json(coalesce(deleted ->> o.id, claims ->> 'sub'))::text, 'null') || '}')
      FROM old_rows o;
  ELSIF TG_OP = 'INSERT' THEN
    PERFORM pg_notify(channel, head || to_json(n.id::text)::text || ',"version":' || n.version
              || ',"op":"insert","changedBy":' || coalesce(to_json(n.updated_by::text)::text, 'null') || '}')
      FROM new_rows n;
  ELSE
    PERFORM pg_notify(channel, head || to_json(n.id::text)::text || ',"version":' || n.version
              || ',"op":"update","changedBy":' || coalesce(to_json(n.updated_by::text)::text, 'null') || '}')
      FROM new_rows n;
  END IF;
  RETURN NULL;
END
$fn$;

-- Documents are edited in place again and again: with 15% of each page left free, an update can
-- keep the new row version on its page (a HOT update) and skip the primary-key insert. Applies to
-- pages written from now on.
ALTER TABLE @schema@.charts SET (fillfactor = 85);
ALTER TABLE @schema@.wells SET (fillfactor = 85);
ALTER TABLE @schema@.polygons SET (fillfactor = 85);
ALTER TABLE @schema@.curves SET (fillfactor = 85);
