/**
 * PGlite (embedded Postgres in WASM) behind the SqlClient shape. One in-process session: queries
 * are serialised by PGlite itself; LISTEN/NOTIFY is delivered in process.
 */
import { mkdirSync } from "node:fs";
import { PGlite, type PGliteInterface, type Transaction } from "@electric-sql/pglite";
import type { BackendInfo, SqlClient, SqlQueryable, TransactionOptions } from "../../postgres/sql-client.ts";

function wrapTx(tx: Transaction): SqlQueryable {
  return {
    query: async <R>(text: string, params?: unknown[]) => ({ rows: (await tx.query<R>(text, params)).rows }),
    exec: async (sql: string) => {
      await tx.exec(sql);
    },
  };
}

export class PgliteClient implements SqlClient {
  readonly info: BackendInfo;

  constructor(
    readonly db: PGliteInterface,
    dataDir?: string,
    private readonly ownsDb = true,
  ) {
    this.info = { backend: "pglite", dataDir };
  }

  /** Opens (creating when missing) the data directory; no directory = in memory. */
  static async open(dataDir?: string): Promise<PgliteClient> {
    // 0700 like the store around it: the embedded database holds the applied rows
    if (dataDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const db = await PGlite.create(dataDir);
    return new PgliteClient(db, dataDir);
  }

  async query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }> {
    return { rows: (await this.db.query<R>(text, params)).rows };
  }

  async exec(sql: string): Promise<void> {
    await this.db.exec(sql);
  }

  async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.db.transaction(async (tx) => {
      const value = await fn(wrapTx(tx));
      if (options.rollback) await tx.rollback();
      return value;
    });
  }

  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    const unlisten = await this.db.listen(channel, onPayload);
    return () => unlisten();
  }

  async close(): Promise<void> {
    if (this.ownsDb && !this.db.closed) await this.db.close();
  }
}
