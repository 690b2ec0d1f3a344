/**
 * The raw baselines of the sink benchmark: the same document rows written by one multi-row
 * INSERT per batch (jsonb_to_recordset, upserting like the function does) and by one COPY per
 * batch, into tables shaped like the entity tables (id, doc, version, updated_at, updated_by).
 * Works on node-postgres (COPY through pg-copy-streams) and on PGlite (COPY from /dev/blob).
 */
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import type pg from "pg";
import type { PGlite } from "@electric-sql/pglite";
import { from as copyFrom } from "pg-copy-streams";
import type { WireEventLike } from "./event-types.ts";

export const BASELINE_SCHEMA = "mudsync_bench";

export type PlainDb = { kind: "pg"; client: pg.Client } | { kind: "pglite"; db: PGlite };

async function exec(db: PlainDb, sql: string, params: unknown[] = []): Promise<void> {
  if (db.kind === "pg") await db.client.query(sql, params);
  else await db.db.query(sql, params);
}

/** Creates (or empties) the baseline tables. */
export async function createBaselineTables(db: PlainDb): Promise<void> {
  const s = BASELINE_SCHEMA;
  const cols = "id text PRIMARY KEY, doc jsonb NOT NULL, version bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), updated_by text";
  for (const sql of [
    `DROP SCHEMA IF EXISTS ${s} CASCADE`,
    `CREATE SCHEMA ${s}`,
    `CREATE TABLE ${s}.docs_insert (${cols})`,
    `CREATE TABLE ${s}.docs_copy (${cols})`,
  ]) {
    await exec(db, sql);
  }
}

export async function dropBaselineTables(db: PlainDb): Promise<void> {
  await exec(db, `DROP SCHEMA IF EXISTS ${BASELINE_SCHEMA} CASCADE`);
}

const rowOf = (e: WireEventLike) => ({ id: `${e.entity}:${e.entityId}`, doc: e.payload, updated_by: e.clientId ?? null });

/**
 * One multi-row INSERT for the batch: adds insert, updates shallow-merge into the existing row
 * and bump its version (the same row effect as the function, without ledger, audit or checks).
 */
export async function insertBatch(db: PlainDb, events: WireEventLike[]): Promise<void> {
  const t = `${BASELINE_SCHEMA}.docs_insert`;
  await exec(
    db,
    `INSERT INTO ${t} (id, doc, version, updated_by)
     SELECT r.id, r.doc, 1, r.updated_by FROM jsonb_to_recordset($1::jsonb) AS r(id text, doc jsonb, updated_by text)
     ON CONFLICT (id) DO UPDATE SET doc = ${t}.doc || excluded.doc, version = ${t}.version + 1,
       updated_at = now(), updated_by = excluded.updated_by`,
    [JSON.stringify(events.map(rowOf))],
  );
}

/** COPY text format: backslashes doubled; JSON.stringify already escapes tabs and newlines. */
function copyText(events: WireEventLike[]): string {
  const esc = (s: string) => s.replace(/\\/g, "\\\\");
  let out = "";
  for (const e of events) {
    const r = rowOf(e);
    out += `${esc(r.id)}\t${esc(JSON.stringify(r.doc))}\t1\t${r.updated_by === null ? "\\N" : esc(r.updated_by)}\n`;
  }
  return out;
}

/** One COPY for the batch (adds only: COPY cannot update). */
export async function copyBatch(db: PlainDb, events: WireEventLike[]): Promise<void> {
  const sql = `COPY ${BASELINE_SCHEMA}.docs_copy (id, doc, version, updated_by) FROM STDIN`;
  const body = copyText(events);
  if (db.kind === "pg") {
    await pipeline(Readable.from([body]), db.client.query(copyFrom(sql)));
  } else {
    await db.db.query(sql.replace("STDIN", "'/dev/blob'"), [], { blob: new Blob([body]) });
  }
}

export async function countRows(db: PlainDb, table: "docs_insert" | "docs_copy"): Promise<number> {
  const sql = `SELECT count(*)::int AS n FROM ${BASELINE_SCHEMA}.${table}`;
  const rows = db.kind === "pg" ? (await db.client.query<{ n: number }>(sql)).rows : (await db.db.query<{ n: number }>(sql)).rows;
  return rows[0]?.n ?? 0;
}
