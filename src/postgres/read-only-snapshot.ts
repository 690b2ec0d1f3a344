/**
 * One node-postgres connection in one `REPEATABLE READ READ ONLY` transaction (the session is
 * read-only too): every read of a command comes from one snapshot, and nothing can be written.
 * `check` runs inside it before the connection is handed over; if connecting or the check fails,
 * the connection is closed and the error rethrown as it is, for the caller to classify.
 */
import pg from "pg";

export interface ReadOnlySnapshotOptions {
  url: string;
  applicationName: string;
  connectTimeoutMs?: number;
  /** more `-c name=value` session settings */
  settings?: string;
}

export async function openReadOnlySnapshot<T>(
  options: ReadOnlySnapshotOptions,
  check: (client: pg.Client) => Promise<T>,
): Promise<{ client: pg.Client; value: T }> {
  const client = new pg.Client({
    connectionString: options.url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: options.applicationName,
    options: `-c default_transaction_read_only=on${options.settings ? ` ${options.settings}` : ""}`,
  });
  // a connection the server drops between queries fails the next query, which says so
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    return { client, value: await check(client) };
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
}
