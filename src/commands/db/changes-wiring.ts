/** Flags of `mudsync db changes`; the implementation (changes.ts) is imported lazily. */
import { type Command, InvalidArgumentError, Option } from "commander";
import { contextFrom, intArg } from "../shared/context.ts";

/** "2s", "500ms", "1m" or plain milliseconds -> ms */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`--for must be a duration like 2s, 500ms or 1m, got "${value}"`);
  const n = Number(m[1]);
  const factor = m[2] === "m" ? 60_000 : m[2] === "s" ? 1000 : 1;
  return Math.round(n * factor);
}

export function registerDbChanges(db: Command): void {
  db.command("changes")
    .description(
      "print the realtime change feed of the entity tables: LISTEN/NOTIFY on the Postgres server (--db, DATABASE_URL), " +
        "or Supabase Realtime when SUPABASE_URL and a key are configured (SUPABASE_USER_JWT: the user whose RLS applies). " +
        "Without --follow it prints the changes that arrive within --for and exits; with --follow it runs until " +
        "SIGINT/SIGTERM (exit 0). The embedded PGlite cannot be followed from another process.",
    )
    .option("--follow", "keep printing until interrupted")
    .option("--for <duration>", "without --follow: how long to listen (2s, 500ms, 1m)", parseDuration, 2000)
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
