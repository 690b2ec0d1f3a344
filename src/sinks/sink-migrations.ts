/**
 * The sinks' migrations (./sql: the schema, apply_batch and the conflict functions) run by the
 * shared Postgres migrator; `dir` defaults to them.
 */
import { fileURLToPath } from "node:url";
import * as migrator from "../postgres/migrator.ts";
import type { SqlClient, SqlQueryable } from "../postgres/sql-client.ts";

export { renderMigration, type AppliedMigration, type MigrateResult, type Migration, type MigrationState } from "../postgres/migrator.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("./sql/", import.meta.url));

export function loadMigrations(dir = MIGRATIONS_DIR): migrator.Migration[] {
  return migrator.loadMigrations(dir);
}

export function migrationStatus(client: SqlQueryable, options: { schema: string; dir?: string }): Promise<migrator.MigrationState> {
  return migrator.migrationStatus(client, { ...options, dir: options.dir ?? MIGRATIONS_DIR });
}

export function migrate(client: SqlClient, options: { schema: string; dir?: string }): Promise<migrator.MigrateResult> {
  return migrator.migrate(client, { ...options, dir: options.dir ?? MIGRATIONS_DIR });
}
