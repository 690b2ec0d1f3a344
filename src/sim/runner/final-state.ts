/**
 * The final server state a checker needs, read once at the end of a run: every row of the built-in
 * entities, every event the ledger or the audit log knows (with how many `applied` decisions the
 * audit log holds for it), and the parked conflicts. Read in pages, so a long run's ledger never
 * sits in memory whole.
 */
import type { SqlQueryable } from "../../postgres/sql-client.ts";
import { BUILTIN_ENTITY_TABLES } from "../../realtime/builtin-entity-tables.ts";
import type { ConflictRecord, LedgerRecord, RowRecord } from "../history/history-records.ts";
import { normalise } from "./row-value.ts";

const PAGE = 10_000;

type Emit = (r: RowRecord | LedgerRecord | ConflictRecord) => void;

export async function readFinalState(db: SqlQueryable, schema: string, emit: Emit): Promise<{ rows: number; ledger: number; conflicts: number }> {
  const s = `"${schema}"`;
  let rows = 0;
  for (const [entity, table] of Object.entries(BUILTIN_ENTITY_TABLES)) {
    const col = entity === "chart_data_source" ? "data_source_config" : "doc";
    const r = await db.query<{ id: string; version: string | number; data: unknown }>(
      `select id, version, ${col} as data from ${s}."${table}" order by id`,
    );
    for (const x of r.rows) {
      emit({ type: "row", row: `${entity}:${x.id}`, version: Number(x.version), value: normalise(entity, x.data) });
      rows += 1;
    }
  }
  // `applied` decisions per event: normally one each (an event folded into another by coalescing
  // counts its wire event's), so only the exceptions are read whole — the ones decided more than
  // once, and the ones the ledger never recorded
  const audited = new Map<string, number>();
  const odd = await db.query<{ event: string; n: string | number }>(
    `select a.event_id as event, count(*) as n from ${s}.audit_log a where a.decision = 'applied' group by a.event_id
      having count(*) > 1 or not exists (select 1 from ${s}.applied_events l where l.event_id = a.event_id)`,
  );
  for (const x of odd.rows) audited.set(x.event, Number(x.n));
  let ledger = 0;
  let after = "";
  for (;;) {
    const page = await db.query<{ event: string; outcome: string | null; version: string | number | null }>(
      `select event_id as event, outcome, version from ${s}.applied_events where event_id > $1 order by event_id limit ${PAGE}`,
      [after],
    );
    for (const x of page.rows) {
      const n = audited.get(x.event) ?? 1;
      audited.delete(x.event);
      emit({ type: "ledger", event: x.event, outcome: x.outcome, version: x.version === null ? null : Number(x.version), audited: n });
      ledger += 1;
    }
    if (page.rows.length < PAGE) break;
    after = page.rows[page.rows.length - 1]!.event;
  }
  for (const [event, n] of audited) {
    emit({ type: "ledger", event, outcome: null, version: null, audited: n });
    ledger += 1;
  }
  const parked = await db.query<{ event: string; status: string }>(`select event_id as event, status from ${s}.conflicts order by id`);
  for (const x of parked.rows) emit({ type: "conflict", event: x.event, status: x.status });
  return { rows, ledger, conflicts: parked.rows.length };
}
