/**
 * Opens the Sink the config points at (PGlite in the store by default, pg with --db, Supabase with
 * SUPABASE_URL) for commands that apply events. The embedded PGlite is migrated on open, so
 * `mudsync demo` and `queue drain` work on a bare machine; a real server must be migrated with
 * `mudsync db migrate` first (the sink says so when the schema is missing).
 */
import type { Sink } from "../../core/ports.ts";
import type { CommandContext } from "./context.ts";

export async function openSinkFor(ctx: CommandContext): Promise<Sink> {
  const { openSink } = await import("../../sinks/open-sink.ts");
  return openSink(ctx.config, { migrateEmbedded: true });
}
