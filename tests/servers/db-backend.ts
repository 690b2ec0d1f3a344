/**
 * The database behind the fake Supabase servers: one transaction at a time with a query function,
 * and LISTEN on a channel. Two implementations: an in-process PGlite (its own `transaction` and
 * `listen`) and the real Postgres (a pg Pool for requests, a dedicated client for LISTEN).
 * Errors keep Postgres's fields (code, message, detail, hint) so the servers can map them.
 */
import type { PGlite, Transaction } from "@electric-sql/pglite";
import pg from "pg";

export type Query = (sql: string, params?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

export interface DbBackend {
  readonly kind: "pglite" | "pg";
  transaction<T>(fn: (query: Query) => Promise<T>): Promise<T>;
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Fronts an in-process PGlite; closing the backend leaves the PGlite open (the test owns it). */
export function pgliteBackend(db: PGlite): DbBackend {
  return {
    kind: "pglite",
    transaction: (fn) =>
      db.transaction((tx: Transaction) =>
        fn(async (sql, params) => {
          const r = await tx.query<Record<string, unknown>>(sql, params as unknown[] | undefined);
          return { rows: r.rows };
        }),
      ),
    listen: async (channel, onPayload) => {
      const unlisten = await db.listen(channel, onPayload);
      return () => unlisten();
    },
    close: async () => {},
  };
}

/** Fronts the real server at `url` with a small pool; `close` ends the pool and listeners. */
export function pgBackend(url: string): DbBackend {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const listeners = new Set<pg.Client>();
  return {
    kind: "pg",
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query("begin");
        const result = await fn(async (sql, params) => {
          const r = await client.query(sql, params as unknown[] | undefined);
          return { rows: r.rows as Record<string, unknown>[] };
        });
        await client.query("commit");
        return result;
      } catch (err) {
        await client.query("rollback").catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    async listen(channel, onPayload) {
      const client = new pg.Client({ connectionString: url });
      client.on("error", () => {});
      await client.connect();
      client.on("notification", (msg) => {
        if (msg.channel === channel) onPayload(msg.payload ?? "");
      });
      await client.query(`listen ${pg.escapeIdentifier(channel)}`);
      listeners.add(client);
      return async () => {
        listeners.delete(client);
        await client.end().catch(() => {});
      };
    },
    async close() {
      await Promise.all([...listeners].map((c) => c.end().catch(() => {})));
      listeners.clear();
      await pool.end();
    },
  };
}
