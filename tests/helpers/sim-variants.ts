/**
 * Deliberately broken variants of the pipeline for the simulation tests: each breaks one promise,
 * and the test that uses it shows the checker names the invariant it breaks.
 */
import type { SqlQueryable } from "../../src/postgres/sql-client.ts";
import type { SinkLayer } from "../../src/sim/runner/client-sink.ts";
import type { RunOptions } from "../../src/sim/runner/run-scenario.ts";

/**
 * apply_batch without its ledger check: the installed function is read back from the server, its
 * two lookups of `applied_events` are taken out and the ledger insert tolerates a repeat, so a batch
 * delivered twice is applied twice. Throws if the function no longer has the expected shape.
 */
export async function dropLedgerCheck(db: SqlQueryable, schema: string): Promise<void> {
  const { rows } = await db.query<{ def: string }>(
    "select pg_get_functiondef(p.oid) as def from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = $1 and p.proname = 'apply_batch'",
    [schema],
  );
  let def = rows[0]?.def;
  if (!def) throw new Error(`no ${schema}.apply_batch installed`);
  const edits: [RegExp, string][] = [
    [/AND NOT EXISTS \(SELECT 1 FROM \S+\.applied_events a WHERE a\.event_id = e\.eid\)/, ""],
    [/\(SELECT coalesce\(a\.version, -1\) FROM \S+\.applied_events a WHERE a\.event_id = p\.eid\)/, "NULL::bigint"],
    [/(SELECT fin\.eid, fin\.client, fin\.seq, batch, 'applied', fin\.v FROM fin WHERE fin\.o = 'applied')/, "$1 ON CONFLICT (event_id) DO NOTHING"],
  ];
  for (const [re, to] of edits) {
    if (!re.test(def)) throw new Error(`apply_batch changed shape: ${re} not found`);
    def = def.replace(re, to);
  }
  await db.exec(def);
}

/** A batcher that hands the server a row's edits in reverse: each row's seq numbers are reversed within a batch. */
export const reverseRowEdits: SinkLayer = (events, next) => {
  const byRow = new Map<string, number[]>();
  events.forEach((e, i) => {
    const k = `${e.entity}:${e.entityId}:${e.clientId ?? ""}`;
    byRow.set(k, [...(byRow.get(k) ?? []), i]);
  });
  const out = events.map((e) => ({ ...e }));
  for (const idx of byRow.values()) {
    if (idx.length < 2) continue;
    const seqs = idx.map((i) => events[i]!.seq ?? 0);
    const stamps = idx.map((i) => events[i]!.timestamp);
    idx.forEach((i, k) => {
      out[i]!.seq = seqs[seqs.length - 1 - k]!;
      out[i]!.timestamp = stamps[stamps.length - 1 - k]!;
    });
  }
  return next(out);
};

/**
 * An engine that acknowledges a batch it never heard back about: a round trip that fails is taken
 * as applied. Harmless when the server did commit (applied but errored), a loss when the request
 * never got there (a cut connection, a half-sent request).
 */
export const acksUnanswered: SinkLayer = async (events, next) => {
  try {
    return await next(events);
  } catch {
    return events.map((e) => ({ id: e.id, outcome: "applied" as const }));
  }
};

export const BROKEN_VARIANTS: Record<string, NonNullable<RunOptions["variant"]>> = {
  "acks-unanswered": { sinkLayer: acksUnanswered },
  "no-ledger-check": { afterMigrate: dropLedgerCheck },
  "reordered-row-edits": { sinkLayer: reverseRowEdits },
  "stale-cache": { client: { ignoreInvalidation: true } },
  "never-rolled-back": { client: { neverRollBack: true } },
};
