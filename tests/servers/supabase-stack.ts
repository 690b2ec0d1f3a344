/**
 * A migrated database (PGlite in-process, or a fresh database on the real server) with the
 * Supabase roles, fronted by the fake Supabase servers. `close()` stops the servers and drops or
 * closes the database. Used by the Supabase sink contract test and the realtime tests.
 */
import { PGlite } from "@electric-sql/pglite";
import { migrate } from "../../src/sinks/sink-migrations.ts";
import type { SqlClient } from "../../src/postgres/sql-client.ts";
import { BUILTIN_ENTITY_TABLES } from "../../src/realtime/builtin-entity-tables.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/pg.ts";
import { pgBackend, pgliteBackend } from "./db-backend.ts";
import { prepareSupabaseRoles, startFakeSupabase, type FakeSupabase } from "./fake-supabase.ts";

export interface SupabaseStack {
  kind: "pglite" | "pg";
  schema: string;
  db: SqlClient;
  /** postgres:// URL of the database (real server only) */
  url?: string;
  /** the in-process instance (PGlite only) */
  pglite?: PGlite;
  fake: FakeSupabase;
  close(): Promise<void>;
}

export async function startSupabaseStack(kind: "pglite" | "pg", schema = "mudsync"): Promise<SupabaseStack> {
  let pglite: PGlite | undefined;
  let testDb: TestDatabase | undefined;
  let db: SqlClient;
  if (kind === "pglite") {
    pglite = await PGlite.create();
    db = pgliteBackend(pglite);
  } else {
    testDb = await createTestDatabase("mudsync_supa");
    db = pgBackend(testDb.url);
  }
  try {
    await migrate(db, { schema });
    await prepareSupabaseRoles((sql) => db.exec(sql), schema);
    const fake = await startFakeSupabase({ db, schema, entityTables: { ...BUILTIN_ENTITY_TABLES } });
    return {
      kind,
      schema,
      db,
      ...(testDb ? { url: testDb.url } : {}),
      ...(pglite ? { pglite } : {}),
      fake,
      async close() {
        await fake.close();
        await db.close();
        await pglite?.close();
        await testDb?.drop();
      },
    };
  } catch (err) {
    await db.close().catch(() => {});
    await pglite?.close().catch(() => {});
    await testDb?.drop().catch(() => {});
    throw err;
  }
}

/** Row-level security on curves for the tests: a row belongs to the JWT `sub` that last wrote it. */
export async function enableCurveOwnerRls(stack: Pick<SupabaseStack, "db" | "schema">): Promise<void> {
  const s = `"${stack.schema}"`;
  await stack.db.exec(`
    alter table ${s}.curves enable row level security;
    create policy curves_owner on ${s}.curves for all to authenticated
      using (updated_by = current_setting('request.jwt.claims', true)::jsonb ->> 'sub')
      with check (updated_by = current_setting('request.jwt.claims', true)::jsonb ->> 'sub');`);
}
