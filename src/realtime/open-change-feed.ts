/**
 * Config -> ChangeFeed for `mudsync db changes` and the daemon: a database URL -> LISTEN/NOTIFY on
 * a dedicated pg client; else SUPABASE_URL -> Supabase Realtime as the configured user. The
 * embedded PGlite lives inside one process, so another process cannot follow it: that is a usage
 * error here (in-process consumers build a PgliteListenFeed on their own instance).
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Config } from "../config/config.ts";
import type { ChangeFeed } from "../core/ports.ts";
import { UsageError } from "../errors.ts";
import { createSupabaseClient } from "../sinks/supabase/create-supabase-client.ts";
import { supabaseOptionsFrom } from "../sinks/supabase/open-supabase-sink.ts";
import { BUILTIN_ENTITY_TABLES } from "./builtin-entity-tables.ts";
import { PgListenFeed } from "./pg-listen.ts";
import { SupabaseRealtimeFeed } from "./supabase-realtime.ts";

export type FeedConfig = Pick<Config, "schema" | "db" | "supabaseUrl" | "supabaseKey">;

export interface OpenedFeed {
  feed: ChangeFeed;
  /** where the feed comes from, for people (no password) */
  source: string;
  close(): Promise<void>;
}

export function openChangeFeed(
  config: FeedConfig,
  options: { source?: "pg" | "supabase"; onProblem?: (message: string) => void; env?: NodeJS.ProcessEnv } = {},
): OpenedFeed {
  const source = options.source ?? (config.db ? "pg" : config.supabaseUrl ? "supabase" : undefined);
  if (source === "pg") {
    if (!config.db) throw new UsageError("--source pg needs a server: pass --db postgres://… or set DATABASE_URL");
    if (!/^postgres(ql)?:\/\//.test(config.db)) {
      throw new UsageError(`--db ${config.db.split("@").pop()}: expected a postgres:// or postgresql:// URL`);
    }
    const feed = new PgListenFeed({ connectionString: config.db, schema: config.schema, onProblem: options.onProblem });
    const where = new URL(config.db);
    return { feed, source: `LISTEN ${feed.channel} on ${where.host}${where.pathname}`, close: async () => {} };
  }
  if (source === "supabase") {
    const client: SupabaseClient<any, string, any> = createSupabaseClient(supabaseOptionsFrom(config, options.env));
    const feed = new SupabaseRealtimeFeed(client, {
      schema: config.schema,
      entityTables: BUILTIN_ENTITY_TABLES,
      onProblem: options.onProblem,
    });
    return {
      feed,
      source: `Supabase Realtime ${config.supabaseUrl} (schema ${config.schema})`,
      close: async () => {
        await client.removeAllChannels();
      },
    };
  }
  throw new UsageError(
    "db changes needs a server: the embedded PGlite is private to the process that opened it, so its " +
      "notifications cannot be followed from here; pass --db postgres://… (or set DATABASE_URL or SUPABASE_URL)",
  );
}
