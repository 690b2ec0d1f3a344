/** Flags of `mudsync demo`; the implementation is imported lazily. */
import { type Command, Option } from "commander";
import { STRATEGIES } from "../../config/strategies.ts";
import { contextFrom } from "../shared/context.ts";
import { emit } from "../shared/output.ts";

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description(
      "run the whole pipeline on a bare machine: import a queue export made by a real browser, show what is stuck, " +
        "drain it into the embedded PostgreSQL (PGlite) resolving conflicts, print the summary and the resulting rows",
    )
    .option("--keep", "keep the demo store (default: a temporary directory removed at the end)")
    .addOption(new Option("--strategy <s>", "conflict strategy for the drain").choices([...STRATEGIES]).default("merge"))
    .addHelpText("after", "\nUses --store only when given explicitly (then the store is kept); needs no server.")
    .action(async (opts: { keep?: boolean; strategy: (typeof STRATEGIES)[number] }, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const explicitStore = cmd.getOptionValueSourceWithGlobals("store") === "cli" ? ctx.config.store : undefined;
      const out = ctx.json ? process.stderr : process.stdout;
      const { demo, renderDemo, assertDemo } = await import("./demo.ts");
      const result = await demo({ keep: opts.keep, store: explicitStore, strategy: opts.strategy }, ctx, (line) => out.write(`${line}\n`));
      emit(result, renderDemo, ctx);
      assertDemo(result);
    });
}
