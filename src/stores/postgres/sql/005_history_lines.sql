-- An event's history becomes text: one JSON object per entry ({"at","from","to","note"}), each
-- followed by a newline, oldest first. Appending an entry (every claim and settle does) is then a
-- text concatenation; appending to a jsonb array took the array apart and built it again. Existing
-- entries are kept, in order.
CREATE FUNCTION @schema@.history_lines(h jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $fn$
  SELECT coalesce(string_agg(x::text || E'\n', '' ORDER BY i), '')
  FROM jsonb_array_elements(h) WITH ORDINALITY AS a(x, i)
$fn$;

ALTER TABLE @schema@.events
  ALTER COLUMN history DROP DEFAULT,
  ALTER COLUMN history TYPE text USING @schema@.history_lines(history),
  ALTER COLUMN history SET DEFAULT '';

DROP FUNCTION @schema@.history_lines(jsonb);
