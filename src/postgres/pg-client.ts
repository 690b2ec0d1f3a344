/** node-postgres behind the SqlClient shape: a pool for queries, a dedicated session for LISTEN. */
import pg from "pg";
import type { BackendInfo, SqlClient, SqlQueryable, TransactionOptions } from "./sql-client.ts";

export interface PgClientOptions {
  url: string;
  /** pool size (default 10) */
  max?: number;
  connectTimeoutMs?: number;
  /** server-side statement_timeout and client-side query timeout (default 60 s) */
  statementTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** called for errors on idle pooled connections (the pool then drops that connection) */
  onIdleError?: (err: Error) => void;
  /** the sessions' application_name (default mudsync) */
  applicationName?: string;
}

/** The URL with its password masked, for status output and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable url)";
  }
}

function wrap(c: pg.ClientBase): SqlQueryable {
  return {
    query: async <R>(text: string, params?: unknown[]) => ({ rows: (await c.query(text, params)).rows as R[] }),
    exec: async (sql: string) => {
      await c.query(sql);
    },
  };
}

export class PgClient implements SqlClient {
  readonly info: BackendInfo;
  private readonly pool: pg.Pool;
  private readonly listeners = new Set<pg.Client>();

  constructor(private readonly options: PgClientOptions) {
    this.info = { backend: "pg", url: redactUrl(options.url) };
    const timeout = options.statementTimeoutMs ?? 60_000;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.max ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
      statement_timeout: timeout,
      query_timeout: timeout + 5_000,
      application_name: options.applicationName ?? "mudsync",
    });
    this.pool.on("error", (err) => options.onIdleError?.(err));
  }

  async query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }> {
    const r = await this.pool.query(text, params);
    return { rows: r.rows as R[] };
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query("BEGIN");
      const value = await fn(wrap(client));
      await client.query(options.rollback ? "ROLLBACK" : "COMMIT");
      return value;
    } catch (err) {
      await client.query("ROLLBACK").catch((e: Error) => {
        broken = e;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    const client = new pg.Client({
      connectionString: this.options.url,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 10_000,
      application_name: "mudsync-listen",
    });
    client.on("error", () => {});
    await client.connect();
    this.listeners.add(client);
    client.on("notification", (msg) => {
      if (msg.channel === channel) onPayload(msg.payload ?? "");
    });
    await client.query(`LISTEN "${channel.replaceAll('"', '""')}"`);
    return async () => {
      if (!this.listeners.delete(client)) return;
      await client.end().catch(() => {});
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.listeners].map((c) => c.end().catch(() => {})));
    this.listeners.clear();
    await this.pool.end();
  }
}
