/**
 * The update statement of the Postgres queue store: a whole batch of event changes in one
 * statement (a jsonb array unpacked with jsonb_to_recordset), honouring each change's expected
 * lease owner, writing the history rows set-based and returning the ids whose lease was lost.
 */
import type { EventChange } from "../../core/ports.ts";

/** One change as the statement takes it: fields to set, fields to remove, the owner to expect. */
export interface EncodedChange {
  id: string;
  set: Record<string, unknown>;
  unset: string[];
  owner: string | null;
  note: string | null;
}

/**
 * Splits each change into fields set and fields removed (a key present with `undefined` clears
 * the field). Several changes of one id are folded into one, later fields winning, so each event
 * is updated once per statement.
 */
export function encodeChanges(changes: EventChange[]): EncodedChange[] {
  const byId = new Map<string, EncodedChange>();
  for (const change of changes) {
    let enc = byId.get(change.id);
    if (!enc) {
      enc = { id: change.id, set: {}, unset: [], owner: change.expectOwner ?? null, note: null };
      byId.set(change.id, enc);
    }
    for (const [key, value] of Object.entries(change.changes)) {
      if (key === "id") continue;
      if (value === undefined || value === null) {
        delete enc.set[key];
        if (!enc.unset.includes(key)) enc.unset.push(key);
      } else {
        enc.set[key] = value;
        enc.unset = enc.unset.filter((k) => k !== key);
      }
    }
    if (change.note !== undefined) enc.note = enc.note === null ? change.note : `${enc.note}; ${change.note}`;
  }
  return [...byId.values()];
}

/**
 * Parameters: $1 the encoded changes as a jsonb array, $2 the time for the history rows.
 * Returns `(id, kind)` rows: `lost` for a change whose expected lease owner did not match (or
 * whose event is gone), `missing` for a change without owner whose event does not exist, in which
 * case nothing at all is changed.
 */
export function updateSql(schema: string): string {
  const events = `"${schema}".events`;
  const history = `"${schema}".history`;
  return `WITH c AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS c(id text, set jsonb, unset text[], owner text, note text)
  ),
  missing AS MATERIALIZED (
    SELECT c.id FROM c
    WHERE c.owner IS NULL AND NOT EXISTS (SELECT 1 FROM ${events} x WHERE x.id = c.id COLLATE "C")
  ),
  upd AS (
    UPDATE ${events} e
    SET event = (e.event || c.set) - c.unset
    FROM c JOIN ${events} o ON o.id = c.id COLLATE "C"
    WHERE e.id = c.id COLLATE "C" AND (c.owner IS NULL OR e.lease_owner = c.owner)
      AND NOT EXISTS (SELECT 1 FROM missing)
    RETURNING e.id, o.status AS from_status, e.status AS to_status, c.note
  ),
  hist AS (
    INSERT INTO ${history} (event_id, at, from_status, to_status, note)
    SELECT u.id, $2, u.from_status, u.to_status, u.note FROM upd u
    WHERE u.note IS NOT NULL OR u.from_status IS DISTINCT FROM u.to_status
  )
  SELECT m.id, 'missing' AS kind FROM missing m
  UNION ALL
  SELECT c.id, 'lost' FROM c
  WHERE c.owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM missing)
    AND NOT EXISTS (SELECT 1 FROM upd u WHERE u.id = c.id COLLATE "C")`;
}
