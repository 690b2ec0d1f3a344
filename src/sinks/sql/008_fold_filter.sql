-- apply_batch's sequential fold read its events as `parse_events(...) e JOIN unnest(fold_idx) fi ON
-- fi.idx = e.idx`. Under the function's generic plan (plan_cache_mode = force_generic_plan) the
-- planner expects 10 elements in fold_idx and 1 parsed event, and chose a nested loop that unnests
-- fold_idx once per event of the batch (for 1000 events of which 500 fold, 500,000 rows). The fold
-- now filters with `e.idx = ANY (fold_idx)`, which no plan can turn into a loop over the array's
-- rows.
--
-- Only that line of the function changes, so the function is rewritten in place from its current
-- definition; a definition that no longer has the line (changed by hand) stops the migration.
DO $mig$
DECLARE
  fn   regprocedure := '@schema@.apply_batch(jsonb)'::regprocedure;
  def  text := pg_get_functiondef(fn);
  old  text := $old$
               JOIN unnest(fold_idx) AS fi(idx) ON fi.idx = e.idx
              WHERE e.reason IS NULL AND NOT e.repeat$old$;
  new  text := $new$
              WHERE e.idx = ANY (fold_idx) AND e.reason IS NULL AND NOT e.repeat$new$;
BEGIN
  IF position(old IN def) = 0 THEN
    RAISE EXCEPTION 'migration 008: %.apply_batch(jsonb) is not the definition this migration expects (the fold''s JOIN unnest(fold_idx) is missing); it was changed outside the migrations', @schema_text@;
  END IF;
  EXECUTE replace(def, old, new);
END
$mig$;
