/**
 * The shape of a SQL connection the sinks and the migrator use: node-postgres and PGlite both fit
 * it through a thin adapter, so the sink logic and the migrator exist once.
 */

export interface SqlQueryable {
  /** One statement with bound parameters. */
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface TransactionOptions {
  /** roll back instead of committing (dry runs) */
  rollback?: boolean;
}

export interface BackendInfo {
  backend: "pg" | "pglite";
  /** server URL without its password (pg) */
  url?: string;
  /** data directory (pglite; absent when in memory) */
  dataDir?: string;
}

export interface SqlClient extends SqlQueryable {
  readonly info: BackendInfo;
  /** Runs fn on one session inside BEGIN … COMMIT (or ROLLBACK on error / when asked). */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** LISTEN on a channel; resolves once listening; returns the unlisten function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
