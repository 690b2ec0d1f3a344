/** Flags of `mudsync sim run | ls | check`; the implementations are imported lazily. */
import type { Command } from "commander";
import { contextFrom, intArg } from "../shared/context.ts";
import { emit } from "../shared/output.ts";
import { ExitCode } from "../../errors.ts";

const VERDICT_HELP = `
Exit codes: 0 every invariant holds; 6 an invariant was violated (the verdict failed);
2 a bad scenario file, flag or history file; 5 the server could not be reached.`;

export function registerSimCommands(program: Command): void {
  const sim = program
    .command("sim")
    .description(
      "run load, offline and conflict scenarios with simulated clients (each a real store, engine, cache and " +
        "optimistic state) on virtual time, record every operation, and check invariants on the history",
    );

  sim
    .command("run")
    .description("run scenario files (or shipped scenarios by name) and print the verdict of each")
    .argument("<scenario...>", "a YAML/JSON scenario file or a folder of them, or a shipped scenario or folder by name (see `sim ls`; `chaos` runs every chaos scenario)")
    .option("--seed <n>", "seed of the generator and the faults (overrides the file's)", intArg("--seed", 0))
    .option("--clients <n>", "number of simulated clients (overrides the file's)", intArg("--clients", 1))
    .option("--sink <url>", "pglite (embedded, default) or a postgres:// URL; a schema mudsync_sim is created there and dropped after")
    .option("--history <file>", "write the history (every operation, NDJSON) to this file; with several scenarios, <file> gets the scenario's name before its extension")
    .option("--keep", "keep the client stores, the embedded database and the server schema for `queue ls`, `conflicts ls` …")
    .addHelpText(
      "after",
      "\nTime is virtual: two hours offline run in seconds, and the same seed gives the same history." +
        "\nProgress: a bar on a terminal, NDJSON on stderr with --json; the result goes to stdout.\n" +
        VERDICT_HELP,
    )
    .action(async (files: string[], opts: { seed?: number; clients?: number; sink?: string; history?: string; keep?: boolean }, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { simRun, renderSimRun } = await import("./run.ts");
      const result = await simRun(files, opts, ctx);
      emit(result, renderSimRun, ctx);
      if (!result.pass) process.exitCode = ExitCode.VerdictFailed;
    });

  sim
    .command("ls")
    .description("list the shipped scenarios, one line each")
    .option("--dir <dir>", "list the scenarios in this directory instead")
    .action(async (opts: { dir?: string }, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { simLs, renderSimLs } = await import("./ls.ts");
      emit(await simLs(opts, ctx), renderSimLs, ctx);
    });

  sim
    .command("check")
    .description("check a recorded history again (offline): the same invariants as `sim run`, from the file alone")
    .argument("<history>", "an NDJSON history written by `sim run --history`")
    .addHelpText("after", VERDICT_HELP)
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { simCheck, renderSimCheck } = await import("./check.ts");
      const result = await simCheck(file, ctx);
      emit(result, renderSimCheck, ctx);
      if (!result.verdict.pass) process.exitCode = ExitCode.VerdictFailed;
    });
}
