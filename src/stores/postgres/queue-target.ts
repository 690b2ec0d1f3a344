/**
 * Where a shared Postgres queue lives: its URL (checked to be postgres://), its schema (a plain
 * identifier, default mudsync_queue) and the queue's own migration files. Shared by the store,
 * which migrates on open, and the read-only reader, which only checks the migrations.
 */
import { fileURLToPath } from "node:url";
import { UsageError } from "../../errors.ts";
import { redactUrl } from "../../postgres/pg-client.ts";

export const DEFAULT_QUEUE_SCHEMA = "mudsync_queue";
export const QUEUE_MIGRATIONS_DIR = fileURLToPath(new URL("./sql/", import.meta.url));

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/** Checks the URL and schema name; returns the schema. */
export function checkQueueTarget(url: string, schema = DEFAULT_QUEUE_SCHEMA): string {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new UsageError(`--queue "${redactUrl(url)}": expected a postgres:// or postgresql:// URL`);
  }
  if (!SCHEMA_RE.test(schema)) {
    throw new UsageError(`queue schema "${schema}": expected a lower-case SQL identifier (letters, digits, _)`);
  }
  return schema;
}
