/**
 * The database behind the fake Supabase servers, in the shape of the sinks' SqlClient (so the
 * migrator runs on it too): an in-process PGlite (its own `transaction` and `listen`) or the real
 * Postgres (a small pg Pool for requests, a dedicated client per LISTEN). Errors keep Postgres's
 * fields (code, message, detail, hint) so the servers can map them to PostgREST's bodies.
 */
import type { PGlite, Transaction } from "@electric-sql/pglite";
import pg from "pg";
import type { SqlClient, SqlQueryable } from "../../src/postgres/sql-client.ts";

/** Fronts an in-process PGlite; closing the backend leaves the PGlite open (the test owns it). */
export function pgliteBackend(db: PGlite): SqlClient {
  const wrap = (q: PGlite | Transaction): SqlQueryable => ({
    query: async <R,>(sql: string, params?: unknown[]) => ({ rows: (await q.query<R>(sql, params)).rows }),
    exec: async (sql: string) => {
      await q.exec(sql);
    },
  });
  return {
    info: { backend: "pglite" },
    ...wrap(db),
    transaction: async (fn, options) => {
      return db.transaction(async (tx) => {
        const result = await fn(wrap(tx));
        if (options?.rollback) await tx.rollback();
        return result;
      });
    },
    listen: async (channel, onPayload) => {
      const unlisten = await db.listen(channel, onPayload);
      return () => unlisten();
    },
    close: async () => {},
  };
}

/** Fronts the real server at `url` with a small pool; `close` ends the pool and listeners. */
export function pgBackend(url: string): SqlClient {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on("error", () => {});
  const listeners = new Set<pg.Client>();
  const wrap = (q: pg.Pool | pg.PoolClient): SqlQueryable => ({
    query: async <R,>(sql: string, params?: unknown[]) => ({ rows: (await q.query(sql, params)).rows as R[] }),
    exec: async (sql: string) => {
      await q.query(sql);
    },
  });
  return {
    info: { backend: "pg", url: url.replace(/:[^:@/]*@/, "@") },
    ...wrap(pool),
    async transaction(fn, options) {
      const client = await pool.connect();
      try {
        await client.query("begin");
        const result = await fn(wrap(client));
        await client.query(options?.rollback ? "rollback" : "commit");
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
