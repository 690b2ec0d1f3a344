/**
 * Builds the supabase-js client the Supabase sink and the Supabase Realtime feed share. The user's
 * JWT (when given) is handed over with supabase-js's `accessToken` option, so that it is the
 * bearer token of every REST call *and* the `access_token` of every Realtime join: row-level
 * security applies to both, as that user. Without a JWT the project key (anon/publishable) is the
 * bearer. The service-role key is never required. On Node 20 the realtime client has no global
 * WebSocket, so the `ws` package is passed as its transport.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import WebSocket from "ws";

export interface SupabaseClientOptions {
  /** https://<project>.supabase.co (or a local stand-in) */
  url: string;
  /** the project's anon / publishable key (sent as `apikey`) */
  key: string;
  /** the signed-in user's access token; RLS policies see its claims */
  userJwt?: string;
  /** Postgres schema holding apply_batch and the entity tables (must be exposed by the API) */
  schema: string;
  /** custom fetch (tests, proxies) */
  fetch?: typeof fetch;
}

export function createSupabaseClient(options: SupabaseClientOptions): SupabaseClient<any, string, any> {
  const jwt = options.userJwt;
  return createClient(options.url, options.key, {
    db: { schema: options.schema },
    // a Bearer token function also turns off supabase-js's own session handling (no auth storage)
    ...(jwt ? { accessToken: async () => jwt } : { auth: { persistSession: false, autoRefreshToken: false } }),
    realtime: { transport: WebSocket as never },
    global: options.fetch ? { fetch: options.fetch } : {},
  });
}
