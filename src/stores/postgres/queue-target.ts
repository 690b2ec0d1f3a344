/**
 * Where a shared Postgres queue lives: its URL (checked to be postgres://), its schema (a plain
 * identifier, default mudsync_queue) and the queue's own migration files. Shared by the store,
 * which migrates on open, and the read-only reader, which only checks the migrations.
 */
import { fileURLToPath } from "node:url";
import { UsageError } from "../../errors.ts";
import { redactUrl } from "../../postgres/pg-client.ts";
import { checkSqlIdentifier } from "../../postgres/sql-identifier.ts";

export const DEFAULT_QUEUE_SCHEMA = "mudsync_queue";
export const QUEUE_MIGRATIONS_DIR = fileURLToPath(new URL("./sql/", import.meta.url));

/** Checks the URL and schema name; returns the schema. */
export function checkQueueTarget(url: string, schema = DEFAULT_QUEUE_SCHEMA): string {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new UsageError(`--queue "${redactUrl(url)}": expected a postgres:// or postgresql:// URL`);
  }
  return checkSqlIdentifier(schema, "queue schema");
}
