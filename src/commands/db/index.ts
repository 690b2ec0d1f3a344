/** Flags of the `mudsync db …` commands; implementations are imported lazily. */
import type { Command } from "commander";
import { registerDbChanges } from "./changes-wiring.ts";

export function registerDbCommands(program: Command): void {
  const db = program.command("db").description("migrate and inspect the server side (Postgres, PGlite, Supabase)");

  // ---- db changes (realtime feed; flags in changes-wiring.ts) ----
  registerDbChanges(db);
}
