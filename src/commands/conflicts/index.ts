/** Flags of the `mudsync conflicts …` commands; implementations are imported lazily. */
import { type Command, Option } from "commander";
import { contextFrom, intArg } from "../shared/context.ts";
import { emit } from "../shared/output.ts";
import { UsageError } from "../../errors.ts";

export function registerConflictsCommands(program: Command): void {
  const conflicts = program
    .command("conflicts")
    .description("list, inspect and resolve conflicts parked on the server by the `manual` strategy");

  conflicts
    .command("ls")
    .description("list parked conflicts (open by default)")
    .addOption(new Option("--status <status>", "which conflicts").choices(["open", "resolved", "all"]).default("open"))
    .option("--limit <n>", "at most this many", intArg("--limit", 1), 100)
    .action(async (opts: { status: "open" | "resolved" | "all"; limit: number }, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const m = await import("./conflicts.ts");
      emit(await m.conflictsLs(opts, ctx), m.renderConflictsLs, ctx);
    });

  conflicts
    .command("show")
    .description("show a parked conflict: the local edit, the row it lost to, a field diff and a proposed merge")
    .argument("<id>", "conflict id", intArg("conflict id", 1))
    .action(async (id: number, _opts: unknown, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const m = await import("./conflicts.ts");
      emit(await m.conflictsShow({ id }, ctx), m.renderConflictShow, ctx);
    });

  conflicts
    .command("resolve")
    .description("resolve a parked conflict on the server (atomic, audited) and mark its local event completed")
    .argument("<id>", "conflict id", intArg("conflict id", 1))
    .addOption(
      new Option("--take <side>", "local: re-apply the local edit on the current row; remote: keep the row; merged: write the merge")
        .choices(["local", "remote", "merged"])
        .makeOptionMandatory(),
    )
    .option("--merged <json>", "with --take merged: the WHOLE merged document (or chart entry), or null to remove it; default: the proposed merge")
    .option("--if-version <n>", "with --take merged: refuse unless the row is still at this version (the one `conflicts show` printed)", intArg("--if-version", 0))
    .option("--actor <name>", "who resolves it, for the audit log (default $USER)")
    .addHelpText(
      "after",
      `
--take merged writes the proposed merge that \`conflicts show ID\` prints: the three-way merge of the
local edit with the row as it is now (for chart_data_source, of the one entry, per field). The server
keeps no row history, so the current row stands in for the edit's base: the fields the local edit
sets take its values, every other field keeps the server's. The write is refused if the row changes
between reading it and writing (and, with --if-version, if it is no longer the version shown).
--merged replaces the stored value whole: a partial object is refused, naming the fields it lacks
(a field left out would be deleted), and a chart entry must carry the conflict's entry id.`,
    )
    .action(async (id: number, opts: { take: "local" | "remote" | "merged"; merged?: string; ifVersion?: number; actor?: string }, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      let merged: unknown;
      if (opts.merged !== undefined || opts.ifVersion !== undefined) {
        if (opts.take !== "merged") throw new UsageError(`${opts.merged !== undefined ? "--merged" : "--if-version"} goes with --take merged`);
      }
      if (opts.merged !== undefined) {
        try {
          merged = JSON.parse(opts.merged);
        } catch (err) {
          throw new UsageError(`--merged: not valid JSON (${(err as Error).message})`);
        }
      }
      const m = await import("./conflicts.ts");
      emit(await m.conflictsResolve({ id, take: opts.take, merged, ifVersion: opts.ifVersion, actor: opts.actor }, ctx), m.renderConflictResolve, ctx);
    });
}
