/**
 * One local "Supabase project" for tests: a node:http server on 127.0.0.1 with the fake PostgREST
 * under /rest/v1 and the fake Realtime WebSocket under /realtime/v1/websocket, in front of a
 * DbBackend (PGlite in-process or the real Postgres). `url` is what SUPABASE_URL would be;
 * `anonKey` and `userJwt(sub)` are the keys a project would hand out.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { SqlClient } from "../../src/postgres/sql-client.ts";
import { anonKey, TEST_JWT_SECRET, userJwt } from "./jwt.ts";
import { FakePostgrest, type ArgType } from "./postgrest.ts";
import { FakeRealtime } from "./realtime.ts";

export interface FakeSupabaseOptions {
  db: SqlClient;
  schema: string;
  /** entity name -> table in `schema` (published over Realtime) */
  entityTables: Record<string, string>;
  /** callable functions -> arguments; default apply_batch(events) and get_row(entity, entity_id) */
  functions?: Record<string, Record<string, ArgType>>;
}

export interface FakeSupabase {
  url: string;
  anonKey: string;
  userJwt(sub: string): string;
  postgrest: FakePostgrest;
  realtime: FakeRealtime;
  close(): Promise<void>;
}

export async function startFakeSupabase(options: FakeSupabaseOptions): Promise<FakeSupabase> {
  const postgrest = new FakePostgrest({
    db: options.db,
    schemas: [options.schema],
    functions: options.functions ?? {
      apply_batch: { events: "jsonb" },
      get_row: { entity: "text", entity_id: "text" },
    },
    jwtSecret: TEST_JWT_SECRET,
  });
  const realtime = new FakeRealtime({ db: options.db, schema: options.schema, entityTables: options.entityTables });
  const server: Server = createServer((req, res) => {
    if (!postgrest.handle(req, res)) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: "no route" }));
    }
  });
  await realtime.start(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    anonKey: anonKey(),
    userJwt: (sub) => userJwt(sub),
    postgrest,
    realtime,
    async close() {
      await realtime.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The roles and grants a Supabase database has for the API: anon, authenticated, service_role
 * (BYPASSRLS), usage on the schema and what `authenticated` needs to run apply_batch as itself,
 * now and on tables and functions created later in the schema.
 * Roles are cluster-wide on a real server: creating them tolerates a concurrent creator.
 */
export async function prepareSupabaseRoles(
  exec: (sql: string) => Promise<unknown>,
  schema: string,
): Promise<void> {
  for (const [role, extra] of [["anon", ""], ["authenticated", ""], ["service_role", " bypassrls"]] as const) {
    await exec(
      `do $$ begin create role ${role} nologin${extra}; ` +
        `exception when duplicate_object or unique_violation then null; end $$`,
    );
  }
  await exec(`grant usage on schema "${schema}" to anon, authenticated, service_role`);
  await exec(`grant select, insert, update, delete on all tables in schema "${schema}" to authenticated, service_role`);
  await exec(`grant usage, select on all sequences in schema "${schema}" to authenticated, service_role`);
  await exec(`grant execute on all functions in schema "${schema}" to authenticated, service_role`);
  // tables created later (register_entity) get the same grants, as Supabase's setup for an exposed
  // schema does with default privileges
  await exec(
    `alter default privileges in schema "${schema}" grant select, insert, update, delete on tables to authenticated, service_role`,
  );
  await exec(`alter default privileges in schema "${schema}" grant usage, select on sequences to authenticated, service_role`);
  await exec(`alter default privileges in schema "${schema}" grant execute on functions to authenticated, service_role`);
}
