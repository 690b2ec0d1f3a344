/**
 * Flags of the `mudsync db …` commands; implementations are imported lazily. Each subcommand is
 * registered by its own small function so more (e.g. `db changes`) can be added alongside.
 */
import type { Command } from "commander";
import { contextFrom } from "../shared/context.ts";
import { emit } from "../shared/output.ts";
import { registerDbChanges } from "./changes-wiring.ts";

function registerMigrate(db: Command): void {
  db.command("migrate")
    .description("install or upgrade mudsync's schema (numbered, checksummed migrations; re-running is a no-op)")
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { runMigrate, renderMigrate } = await import("./migrate.ts");
      emit(await runMigrate(ctx), renderMigrate, { json: ctx.json });
    });
}

function registerStatus(db: Command): void {
  db.command("status")
    .description("applied and pending migrations, server version and backend (pg or pglite)")
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { runStatus, renderStatus } = await import("./status.ts");
      emit(await runStatus(ctx), renderStatus, { json: ctx.json });
    });
}

function registerGet(db: Command): void {
  db.command("get")
    .description("print the server's current row and version of one entity")
    .argument("<entity>", "entity name (chart_data_source, well, polygon, curve, or a registered one)")
    .argument("<id>", "entity id")
    .action(async (entity: string, id: string, _opts: unknown, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { runGet, renderGet } = await import("./get.ts");
      emit(await runGet(ctx, entity, id), renderGet, { json: ctx.json });
    });
}

export function registerDbCommands(program: Command): void {
  const db = program.command("db").description("migrate and inspect the server side (Postgres, PGlite, Supabase)");
  registerMigrate(db);
  registerStatus(db);
  registerGet(db);
  registerDbChanges(db); // `db changes`: flags in changes-wiring.ts, implementation in changes.ts
}
