/**
 * Config -> Supabase sink: SUPABASE_URL + the project key (SUPABASE_KEY / SUPABASE_ANON_KEY) and,
 * for row-level security as a user, that user's access token in SUPABASE_USER_JWT. The
 * service-role key is never needed (and should not be used: it bypasses RLS).
 */
import type { Config } from "../../config/config.ts";
import { UsageError } from "../../errors.ts";
import { SupabaseSink } from "./supabase-sink.ts";

export type SupabaseConfig = Pick<Config, "schema" | "supabaseUrl" | "supabaseKey">;

export function supabaseOptionsFrom(config: SupabaseConfig, env: NodeJS.ProcessEnv = process.env) {
  if (!config.supabaseUrl) throw new UsageError("no Supabase project: set SUPABASE_URL");
  if (!config.supabaseKey) {
    throw new UsageError("SUPABASE_URL is set but no key: set SUPABASE_KEY (or SUPABASE_ANON_KEY) to the project's anon key");
  }
  const userJwt = env.SUPABASE_USER_JWT?.trim() || undefined;
  return { url: config.supabaseUrl, key: config.supabaseKey, schema: config.schema, ...(userJwt ? { userJwt } : {}) };
}

export function openSupabaseSink(config: SupabaseConfig, env: NodeJS.ProcessEnv = process.env): SupabaseSink {
  return new SupabaseSink(supabaseOptionsFrom(config, env));
}
