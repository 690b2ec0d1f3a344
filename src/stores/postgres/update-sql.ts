/**
 * The update statement of the Postgres queue store: a whole batch of event changes in one
 * statement (a jsonb array unpacked with jsonb_to_recordset), honouring each change's expected
 * lease owner, appending to each event's history in the same UPDATE and returning the ids whose
 * lease was lost. Lease and settle fields go to their columns; only a change of another field
 * rewrites the `event` jsonb.
 */
import type { EventChange } from "../../core/ports.ts";
import { appendHistory, COLUMN_FIELDS, FIELD_COLUMNS, type ColumnField } from "./event-row.ts";

/**
 * One change as the statement takes it: event fields to set and to remove, the column fields it
 * touches (`touched`) with their new values (null clears one), the owner to expect.
 */
export interface EncodedChange {
  id: string;
  set: Record<string, unknown>;
  unset: string[];
  touched: ColumnField[];
  columns: Partial<Record<ColumnField, unknown>>;
  owner: string | null;
  note: string | null;
}

const isColumnField = (key: string): key is ColumnField => Object.hasOwn(FIELD_COLUMNS, key);

/**
 * Splits each change into fields set and fields removed (a key present with `undefined` clears
 * the field; `status` cannot be cleared). Several changes of one id are folded into one, later
 * fields winning, so each event is updated once per statement.
 */
export function encodeChanges(changes: EventChange[]): EncodedChange[] {
  const byId = new Map<string, EncodedChange>();
  for (const change of changes) {
    let enc = byId.get(change.id);
    if (!enc) {
      enc = { id: change.id, set: {}, unset: [], touched: [], columns: {}, owner: change.expectOwner ?? null, note: null };
      byId.set(change.id, enc);
    }
    for (const [key, value] of Object.entries(change.changes)) {
      if (key === "id") continue;
      const clear = value === undefined || value === null;
      if (isColumnField(key)) {
        if (clear && key === "status") continue;
        if (!enc.touched.includes(key)) enc.touched.push(key);
        enc.columns[key] = clear ? null : value;
      } else if (clear) {
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

/** The changes as the statement's $1: one flat object per change. */
export function changesParam(changes: EventChange[]): string {
  return JSON.stringify(
    encodeChanges(changes).map(({ columns, ...c }) => ({
      ...c,
      ...Object.fromEntries(Object.entries(columns).map(([k, v]) => [FIELD_COLUMNS[k as ColumnField].column, v])),
    })),
  );
}

/** `column = the change's value if it touches the field, else the column as it is`. */
function columnValue(f: ColumnField): string {
  const col = FIELD_COLUMNS[f].column;
  return `CASE WHEN '${f}' = ANY (c.touched) THEN c.${col} ELSE e.${col} END`;
}

function columnAssignments(): string {
  return COLUMN_FIELDS.map((f) => `${FIELD_COLUMNS[f].column} = ${columnValue(f)}`).join(",\n        ");
}

/** The recordset's definition of the column fields. */
const recordColumns = COLUMN_FIELDS.map((f) => `${FIELD_COLUMNS[f].column} ${FIELD_COLUMNS[f].type}`).join(", ");

/** The status after the change (SET expressions see the row as it was). */
const newStatus = columnValue("status");

/**
 * Parameters: $1 the changes (changesParam), $2 the time for the history rows.
 * Returns `(id, kind)` rows: `lost` for a change whose expected lease owner did not match (or
 * whose event is gone), `missing` for a change without owner whose event does not exist, in which
 * case nothing at all is changed.
 */
export function updateSql(schema: string): string {
  const events = `"${schema}".events`;
  return `WITH c AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS c(id text, set jsonb, unset text[], touched text[],
      ${recordColumns}, owner text, note text)
  ),
  missing AS MATERIALIZED (
    SELECT c.id FROM c
    WHERE c.owner IS NULL AND NOT EXISTS (SELECT 1 FROM ${events} x WHERE x.id = c.id COLLATE "C")
  ),
  upd AS (
    UPDATE ${events} e
    SET event = CASE WHEN c.set = '{}'::jsonb AND cardinality(c.unset) = 0 THEN e.event ELSE (e.event || c.set) - c.unset END,
        ${columnAssignments()},
        history = CASE WHEN c.note IS NOT NULL OR ${newStatus} IS DISTINCT FROM e.status
                       THEN ${appendHistory("e.history", { at: "$2::double precision", from: "e.status", to: newStatus, note: "c.note" })}
                       ELSE e.history END
    FROM c
    WHERE e.id = c.id COLLATE "C" AND (c.owner IS NULL OR e.lease_owner = c.owner)
      AND NOT EXISTS (SELECT 1 FROM missing)
    RETURNING e.id
  )
  SELECT m.id, 'missing' AS kind FROM missing m
  UNION ALL
  SELECT c.id, 'lost' FROM c
  WHERE c.owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM missing)
    AND NOT EXISTS (SELECT 1 FROM upd u WHERE u.id = c.id COLLATE "C")`;
}
