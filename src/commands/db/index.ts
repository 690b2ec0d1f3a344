/** Flags of the `mudsync db …` commands; implementations are imported lazily. */
import type { Command } from "commander";

export function registerDbCommands(program: Command): void {
  program.command("db").description("migrate and inspect the server side (Postgres, PGlite, Supabase)");
}
