/**
 * Every server function reads whole in one file: the definition the migrations leave on a server is
 * the body written in the last migration that creates the function, so no migration patches a
 * function by text and a reader finds the current one by name.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadMigrations, renderMigration } from "../../src/sinks/sink-migrations.ts";
import { PgClient } from "../../src/postgres/pg-client.ts";
import { PgSink } from "../../src/sinks/pg/pg-sink.ts";
import type { SqlClient } from "../../src/postgres/sql-client.ts";
import { createMigratedPglite } from "../helpers/pglite.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";

const SCHEMA = "mudsync";
const FUNCTION_RE = /CREATE (?:OR REPLACE )?FUNCTION @schema@\.(\w+)\(([^)]*)\)[\s\S]*?AS \$fn\$([\s\S]*?)\$fn\$;/g;

/** name -> { file, body } of the last migration that creates it */
function lastDefinitions(): Map<string, { file: string; body: string }> {
  const out = new Map<string, { file: string; body: string }>();
  for (const m of loadMigrations()) {
    for (const match of renderMigration(m.sql, SCHEMA).replaceAll(`"${SCHEMA}"`, "@schema@").matchAll(FUNCTION_RE)) {
      out.set(match[1]!, { file: m.name, body: renderMigration(match[3]!, SCHEMA) });
    }
  }
  return out;
}

async function installed(client: SqlClient): Promise<Map<string, string>> {
  const { rows } = await client.query<{ name: string; src: string }>(
    "select proname as name, prosrc as src from pg_proc where pronamespace = $1::regnamespace",
    [SCHEMA],
  );
  return new Map(rows.map((r) => [r.name, r.src]));
}

function checks(open: () => Promise<{ client: SqlClient; close(): Promise<void> }>) {
  let target: { client: SqlClient; close(): Promise<void> };
  beforeAll(async () => {
    target = await open();
  });
  afterAll(async () => {
    await target?.close();
  });

  it("each function on the server is the body of the last migration that creates it", async () => {
    const defs = lastDefinitions();
    expect(defs.get("apply_batch")?.file).toBe("015_non_object_elements.sql");
    const onServer = await installed(target.client);
    for (const [name, def] of defs) {
      expect(onServer.get(name), `${name} (last written in ${def.file})`).toBe(def.body);
    }
  });
}

describe("server functions on PGlite", () => {
  checks(async () => {
    const sink = await createMigratedPglite(SCHEMA);
    return { client: sink.client, close: () => sink.close() };
  });
});

describe.runIf(await realPgAvailable())("server functions on the real server", () => {
  let db: TestDatabase;
  checks(async () => {
    db = await createTestDatabase("mudsync_functions");
    const sink = new PgSink(new PgClient({ url: db.url, max: 2 }), { schema: SCHEMA });
    await sink.migrate();
    return {
      client: sink.client,
      close: async () => {
        await sink.close();
        await db.drop();
      },
    };
  });
});
