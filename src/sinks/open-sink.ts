/**
 * Sink factory: config -> Sink. `db` (postgres://…) -> pg; no URL -> PGlite in `<store>/pglite`;
 * `supabaseUrl` -> the Supabase sink (see the hook below).
 */
import type { Config } from "../config/config.ts";
import type { Sink } from "../core/ports.ts";
import { UsageError } from "../errors.ts";
import { PgClient } from "../postgres/pg-client.ts";
import { PgSink } from "./pg/pg-sink.ts";
import { PgliteSink } from "./pglite/pglite-sink.ts";

export type SinkConfig = Pick<Config, "store" | "schema" | "db" | "supabaseUrl" | "supabaseKey">;

export interface OpenSinkOptions {
  /** migrate the embedded PGlite on open (default true); a real server is migrated by `db migrate` */
  migrateEmbedded?: boolean;
}

/** The SQL sinks (pg, pglite): the ones `db migrate` / `db status` work on. */
export async function openSqlSink(config: SinkConfig, options: OpenSinkOptions = {}): Promise<PgSink> {
  if (config.db) {
    if (!/^postgres(ql)?:\/\//.test(config.db)) {
      throw new UsageError(`--db ${config.db.split("@").pop()}: expected a postgres:// or postgresql:// URL`);
    }
    return new PgSink(new PgClient({ url: config.db }), { schema: config.schema });
  }
  return PgliteSink.open({
    schema: config.schema,
    dataDir: PgliteSink.dataDirOf(config.store),
    migrate: options.migrateEmbedded ?? true,
  });
}

export async function openSink(config: SinkConfig, options: OpenSinkOptions = {}): Promise<Sink> {
  if (config.supabaseUrl && !config.db) {
    const { openSupabaseSink } = await import("./supabase/open-supabase-sink.ts");
    return openSupabaseSink(config);
  }
  return openSqlSink(config, options);
}
