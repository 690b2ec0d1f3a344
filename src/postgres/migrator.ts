/**
 * Migrator: numbered, checksummed SQL files of a folder, recorded in `<schema>.migrations`; the sinks
 * and the Postgres queue store each keep their own folder.
 * Each migration runs in its own transaction under an advisory lock, so concurrent `migrate` calls
 * are safe; re-running is a no-op; an applied migration whose statements changed is refused. The
 * checksum ignores comments (sql-checksum.ts); a database that recorded the checksum of a file's
 * whole text, as earlier versions did, is matched through PREVIOUS_CHECKSUMS_FILE.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { MigrationError } from "../errors.ts";
import type { SqlClient, SqlQueryable } from "./sql-client.ts";
import { sqlChecksum, textChecksum } from "./sql-checksum.ts";
import { SQL_IDENTIFIER_HINT, SQL_IDENTIFIER_RE } from "./sql-identifier.ts";

/**
 * Beside the migrations: `{"<file>": [{"text": sha256 of an earlier text of the file, "sql": its
 * sqlChecksum}]}` for files whose comments changed after they were applied. An earlier text's
 * checksum is accepted only while its statements are those of the file now.
 */
export const PREVIOUS_CHECKSUMS_FILE = "previous-checksums.json";

const FILE_RE = /^(\d{3,})_([a-z0-9_]+)\.sql$/;


export interface Migration {
  id: number;
  /** file name, e.g. 001_schema.sql */
  name: string;
  /** sha256 of the file's statements, comments left out */
  checksum: string;
  sql: string;
  /** checksums of whole texts with these statements that a database may have recorded */
  acceptedTextChecksums: string[];
}

export interface AppliedMigration {
  id: number;
  name: string;
  checksum: string;
  appliedAt: string;
}

export interface MigrationState {
  schema: string;
  applied: AppliedMigration[];
  pending: Pick<Migration, "id" | "name" | "checksum">[];
}

export interface MigrateResult extends MigrationState {
  /** names applied by this call */
  ran: string[];
}

/** Reads the migration files of `dir` in id order. */
export function loadMigrations(dir: string): Migration[] {
  const previous = readPreviousChecksums(dir);
  const out: Migration[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith(".sql")) continue;
    const m = FILE_RE.exec(name);
    if (!m) throw new MigrationError(`${path.join(dir, name)}: expected a name like 001_description.sql`);
    const sql = readFileSync(path.join(dir, name), "utf8");
    const id = Number(m[1]);
    if (out.some((x) => x.id === id)) throw new MigrationError(`${path.join(dir, name)}: migration number ${id} is used twice`);
    const checksum = sqlChecksum(sql);
    const earlier = (previous[name] ?? []).filter((p) => p.sql === checksum).map((p) => p.text);
    out.push({ id, name, sql, checksum, acceptedTextChecksums: [textChecksum(sql), ...earlier] });
  }
  return out;
}

function readPreviousChecksums(dir: string): Record<string, { text: string; sql: string }[]> {
  const file = path.join(dir, PREVIOUS_CHECKSUMS_FILE);
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, { text: string; sql: string }[]>;
  } catch (err) {
    throw new MigrationError(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

/** Quoted identifier and string literal for the schema placeholders, after validating the name. */
export function renderMigration(sql: string, schema: string): string {
  if (!SQL_IDENTIFIER_RE.test(schema)) throw new MigrationError(`schema "${schema}": ${SQL_IDENTIFIER_HINT}`);
  return sql.replaceAll("@schema_text@", `'${schema}'`).replaceAll("@schema@", `"${schema}"`);
}

function lockKey(schema: string): string {
  return `mudsync.migrate.${schema}`;
}

async function ensureTable(tx: SqlQueryable, schema: string): Promise<void> {
  await tx.exec(
    renderMigration(
      `CREATE SCHEMA IF NOT EXISTS @schema@;
       CREATE TABLE IF NOT EXISTS @schema@.migrations (
         id integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now());`,
      schema,
    ),
  );
}

async function readApplied(q: SqlQueryable, schema: string): Promise<AppliedMigration[] | null> {
  const { rows: exists } = await q.query<{ t: string | null }>("select to_regclass($1)::text as t", [`"${schema}".migrations`]);
  if (!exists[0]?.t) return null;
  const { rows } = await q.query<{ id: number; name: string; checksum: string; applied_at: Date | string }>(
    `select id, name, checksum, applied_at from "${schema}".migrations order by id`,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    name: r.name,
    checksum: r.checksum,
    appliedAt: r.applied_at instanceof Date ? r.applied_at.toISOString() : String(r.applied_at),
  }));
}

/** Applied-vs-files check: a changed or unknown applied migration is an error naming the file. */
function verify(applied: AppliedMigration[], files: Migration[], dir: string): void {
  for (const a of applied) {
    const f = files.find((x) => x.id === a.id);
    if (!f) {
      throw new MigrationError(
        `migration ${a.name} is applied in the database but missing from ${dir}; this mudsync is older than the schema`,
      );
    }
    if (f.checksum !== a.checksum && !f.acceptedTextChecksums.includes(a.checksum)) {
      throw new MigrationError(
        `${path.join(dir, f.name)} was changed after it was applied (checksum ${f.checksum.slice(0, 12)}…, ` +
          `applied ${a.checksum.slice(0, 12)}…); restore the file and put the change in a new migration`,
      );
    }
  }
}

function stateOf(schema: string, applied: AppliedMigration[], files: Migration[]): MigrationState {
  const done = new Set(applied.map((a) => a.id));
  return {
    schema,
    applied,
    pending: files.filter((f) => !done.has(f.id)).map(({ id, name, checksum }) => ({ id, name, checksum })),
  };
}

/** Applied and pending migrations; read-only (creates nothing). */
export async function migrationStatus(
  client: SqlQueryable,
  options: { schema: string; dir: string },
): Promise<MigrationState> {
  const { dir } = options;
  renderMigration("", options.schema);
  const files = loadMigrations(dir);
  const applied = (await readApplied(client, options.schema)) ?? [];
  verify(applied, files, dir);
  return stateOf(options.schema, applied, files);
}

/** Applies every pending migration, one transaction each; safe to run concurrently. */
export async function migrate(client: SqlClient, options: { schema: string; dir: string }): Promise<MigrateResult> {
  const { dir } = options;
  const { schema } = options;
  renderMigration("", schema);
  const files = loadMigrations(dir);
  const ran: string[] = [];
  for (;;) {
    const next = await client.transaction(async (tx) => {
      await tx.query("select pg_advisory_xact_lock(hashtext($1))", [lockKey(schema)]);
      await ensureTable(tx, schema);
      const applied = (await readApplied(tx, schema)) ?? [];
      verify(applied, files, dir);
      const pending = stateOf(schema, applied, files).pending[0];
      if (!pending) return null;
      const migration = files.find((f) => f.id === pending.id) as Migration;
      try {
        await tx.exec(renderMigration(migration.sql, schema));
      } catch (err) {
        throw new MigrationError(`${path.join(dir, migration.name)} failed: ${(err as Error).message}`, { cause: err });
      }
      await tx.query(`insert into "${schema}".migrations (id, name, checksum) values ($1, $2, $3)`, [
        migration.id,
        migration.name,
        migration.checksum,
      ]);
      return migration.name;
    });
    if (next === null) break;
    ran.push(next);
  }
  return { ...(await migrationStatus(client, { schema, dir })), ran };
}
