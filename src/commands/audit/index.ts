/** Flags of `mudsync audit …`; the implementation (audit-ls.ts) is imported lazily. */
import { type Command, Option } from "commander";
import { contextFrom, intArg } from "../shared/context.ts";
import { emit } from "../shared/output.ts";

export function registerAuditCommands(program: Command): void {
  const audit = program.command("audit").description("read the server's audit log: every decision on every event, conflict resolutions and replays, with who made them");

  audit
    .command("ls")
    .description("list audit entries (newest first): applied, duplicate, conflict, deferred, rejected, parked, resolved, replayed")
    .option("--event <id>", "only entries of this event")
    .option("--row <entity:id>", "only entries of this row, e.g. well:w-17")
    .option("--since <time>", "only entries at or after this time: ISO time, epoch ms, or a duration ago (15m, 2h, 3d)")
    .option("--limit <n>", "at most this many entries", intArg("--limit", 1), 100)
    .addOption(new Option("--order <order>", "newest or oldest first").choices(["newest", "oldest"]).default("newest"))
    .action(async (opts: { event?: string; row?: string; since?: string; limit: number; order: "newest" | "oldest" }, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const m = await import("./audit-ls.ts");
      emit(await m.auditLs(opts, ctx), m.renderAuditLs, ctx);
    });
}
