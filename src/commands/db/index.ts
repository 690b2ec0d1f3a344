/**
 * Flags of the `mudsync db …` commands; implementations are imported lazily. Each subcommand is
 * registered by its own small function.
 */
import { type Command, Option } from "commander";
import { contextFrom, durationArg, intArg } from "../shared/context.ts";
import { emit } from "../shared/output.ts";

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

function registerChanges(db: Command): void {
  db.command("changes")
    .description(
      "print the realtime change feed of the entity tables: LISTEN/NOTIFY on the Postgres server (--db, DATABASE_URL), " +
        "or Supabase Realtime when SUPABASE_URL and a key are configured (SUPABASE_USER_JWT: the user whose RLS applies). " +
        "Without --follow it prints the changes that arrive within --for and exits; with --follow it runs until " +
        "SIGINT/SIGTERM (exit 0). The embedded PGlite cannot be followed from another process.",
    )
    .option("--follow", "keep printing until interrupted")
    .option("--for <duration>", "without --follow: how long to listen (500ms, 2s, 1m)", durationArg("--for"), 2000)
    .option("--count <n>", "exit after this many changes", intArg("--count", 1))
    .addOption(new Option("--source <source>", "which feed (default: pg when a database URL is set, else supabase)").choices(["pg", "supabase"]))
    .addHelpText(
      "after",
      '\nWith --json: one NDJSON line per change on stdout, {"entity","id","version","op","changedBy"?,"at"};\n' +
        'a {"progress":true,"listening":…} line on stderr once the feed is live.',
    )
    .action(async (opts: { follow?: boolean; for: number; count?: number; source?: "pg" | "supabase" }, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { dbChanges } = await import("./changes.ts");
      await dbChanges({ follow: Boolean(opts.follow), forMs: opts.for, count: opts.count, source: opts.source }, ctx);
    });
}

export function registerDbCommands(program: Command): void {
  const db = program.command("db").description("migrate and inspect the server side (Postgres, PGlite, Supabase)");
  registerMigrate(db);
  registerStatus(db);
  registerGet(db);
  registerChanges(db);
}
