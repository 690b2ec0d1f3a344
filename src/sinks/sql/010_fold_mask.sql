-- apply_batch's fold read its events with `e.idx = ANY (fold_idx)`: a linear search of the array
-- for every event of the batch (for 1000 events of which 300 fold, ~150,000 comparisons). The fold
-- now looks each event up in a mask indexed by position (`fold_mask[e.idx]`), set from fold_idx
-- once per batch.
--
-- As 008: only these lines of the function change, so the function is rewritten in place from its
-- current definition; a definition that no longer has one of them (changed by hand) stops the
-- migration.
DO $mig$
DECLARE
  fn   regprocedure := '@schema@.apply_batch(jsonb)'::regprocedure;
  def  text := pg_get_functiondef(fn);
  edits text[][] := ARRAY[
    ARRAY[$old$
  fold_idx   int[];$old$, $new$
  fold_idx   int[];
  fold_mask  boolean[];
  fold_at    int;$new$],
    ARRAY[$old$
  IF fold_idx IS NOT NULL THEN
    FOR r IN SELECT$old$, $new$
  IF fold_idx IS NOT NULL THEN
    fold_mask := array_fill(false, ARRAY[jsonb_array_length(src)]);
    FOREACH fold_at IN ARRAY fold_idx LOOP
      fold_mask[fold_at] := true;
    END LOOP;
    FOR r IN SELECT$new$],
    ARRAY[$old$
              WHERE e.idx = ANY (fold_idx) AND e.reason IS NULL AND NOT e.repeat$old$, $new$
              WHERE fold_mask[e.idx] AND e.reason IS NULL AND NOT e.repeat$new$]];
  i    int;
BEGIN
  FOR i IN 1 .. array_length(edits, 1) LOOP
    IF position(edits[i][1] IN def) = 0 THEN
      RAISE EXCEPTION 'migration 010: %.apply_batch(jsonb) is not the definition this migration expects (edit % of 3 does not apply); it was changed outside the migrations', @schema_text@, i;
    END IF;
    def := replace(def, edits[i][1], edits[i][2]);
  END LOOP;
  EXECUTE def;
END
$mig$;
