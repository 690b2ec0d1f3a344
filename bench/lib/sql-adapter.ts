/**
 * Wraps a node-postgres client or a PGlite instance in the SqlClient shape that the project's
 * migrator takes, so the benchmark installs the schema with the real migrations.
 */
import type pg from "pg";
import type { PGlite } from "@electric-sql/pglite";
import type { SqlClient, SqlQueryable } from "../../src/postgres/sql-client.ts";
import type { PlainDb } from "./plain-writes.ts";

function queryable(db: PlainDb): SqlQueryable {
  return db.kind === "pg"
    ? {
        query: async <R>(text: string, params?: unknown[]) => ({ rows: (await db.client.query(text, params)).rows as R[] }),
        exec: async (sql: string) => {
          await db.client.query(sql);
        },
      }
    : {
        query: async <R>(text: string, params?: unknown[]) => ({ rows: (await db.db.query<R>(text, params)).rows }),
        exec: async (sql: string) => {
          await db.db.exec(sql);
        },
      };
}

export function benchSqlClient(db: PlainDb): SqlClient {
  const q = queryable(db);
  return {
    ...q,
    info: { backend: db.kind },
    async transaction(fn) {
      await q.exec("BEGIN");
      try {
        const out = await fn(q);
        await q.exec("COMMIT");
        return out;
      } catch (err) {
        await q.exec("ROLLBACK");
        throw err;
      }
    },
    listen: () => Promise.reject(new Error("listen is not used by the benchmark")),
    close: async () => {},
  };
}

export function pgDb(client: pg.Client): PlainDb {
  return { kind: "pg", client };
}

export function pgliteDb(db: PGlite): PlainDb {
  return { kind: "pglite", db };
}
