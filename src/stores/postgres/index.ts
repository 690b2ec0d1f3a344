/**
 * Opens the shared Postgres queue store (`--queue postgres://…`): checks the URL and schema name,
 * brings the queue schema up to date with the project's migrator (its own migration files, recorded
 * in `<schema>.migrations`), and returns the store over a small connection pool. The read-only
 * reader for the inspection commands (queue-reader.ts) opens without migrating.
 */
import pg from "pg";
import { systemClock, type Clock } from "../../core/ports.ts";
import { MudsyncError, StoreUnavailableError } from "../../errors.ts";
import { migrate } from "../../postgres/migrator.ts";
import { PgClient, redactUrl } from "../../postgres/pg-client.ts";
import { PostgresQueueStore } from "./postgres-queue-store.ts";
import { checkQueueTarget, QUEUE_MIGRATIONS_DIR } from "./queue-target.ts";

export { PostgresQueueStore } from "./postgres-queue-store.ts";
export { openPostgresQueueReader, PostgresQueueReader } from "./queue-reader.ts";
export { DEFAULT_QUEUE_SCHEMA, QUEUE_MIGRATIONS_DIR } from "./queue-target.ts";

export interface PostgresQueueStoreOptions {
  /** postgres:// or postgresql:// URL of the server holding the queue */
  url: string;
  /** schema of the queue tables (default mudsync_queue) */
  schema?: string;
  /** names this store's connections (application_name), e.g. the daemon id */
  owner?: string;
  /** connections in the pool (default 4: claim, settle and enqueue overlap) */
  poolSize?: number;
  /** create or upgrade the queue tables on open (default true) */
  migrate?: boolean;
  /** time stamped on history entries written by update (claims use their own `now`) */
  clock?: Clock;
  connectTimeoutMs?: number;
}

function unavailable(url: string, err: unknown): Error {
  if (err instanceof MudsyncError) return err;
  const e = err as { code?: string; message?: string };
  return new StoreUnavailableError(
    `queue ${redactUrl(url)}: cannot use the server (${e.code ? `${e.code}: ` : ""}${e.message ?? String(err)})`,
    { cause: err },
  );
}

/** Opens (and by default migrates) the shared queue; throws StoreUnavailableError if unreachable. */
export async function openPostgresQueueStore(options: PostgresQueueStoreOptions): Promise<PostgresQueueStore> {
  const schema = checkQueueTarget(options.url, options.schema);
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  if (options.migrate !== false) {
    const client = new PgClient({ url: options.url, max: 1, connectTimeoutMs });
    try {
      await migrate(client, { schema, dir: QUEUE_MIGRATIONS_DIR });
    } catch (err) {
      throw unavailable(options.url, err);
    } finally {
      await client.close();
    }
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 4,
    connectionTimeoutMillis: connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: `mudsync-queue${options.owner ? `:${options.owner}` : ""}`.slice(0, 63),
    // the queue's pages are hot and its statements short: price random reads as cached ones so
    // claim walks the due indexes in order instead of sorting every due event, and never JIT
    options: "-c random_page_cost=1.1 -c jit=off",
  });
  // an idle connection dropped by the server is replaced on the next query
  pool.on("error", () => {});
  try {
    await pool.query(`SELECT 1 FROM "${schema}".events LIMIT 0`);
  } catch (err) {
    await pool.end().catch(() => {});
    throw unavailable(options.url, err);
  }
  return new PostgresQueueStore(pool, schema, options.clock ?? systemClock);
}
