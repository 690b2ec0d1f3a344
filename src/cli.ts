/**
 * Commander wiring only: each command group declares its flags in its own `index.ts` and lazily
 * imports the implementation, so `mudsync --help` stays fast.
 */
import { Command, Option } from "commander";
import { EXIT_CODE_HELP, ExitCode } from "./errors.ts";
import { errorReport, errorText, jsonRequested } from "./commands/shared/error-output.ts";
import { registerQueueCommands } from "./commands/queue/index.ts";
import { registerDbCommands } from "./commands/db/index.ts";
import { registerConflictsCommands } from "./commands/conflicts/index.ts";
import { registerDaemonCommand } from "./commands/daemon/index.ts";
import { registerDemoCommand } from "./commands/demo/index.ts";
import { registerSimCommands } from "./commands/sim/index.ts";
import { registerAuditCommands } from "./commands/audit/index.ts";
import { registerBenchCommands } from "./commands/bench/index.ts";
import { registerDoctorCommand } from "./commands/doctor/index.ts";
import { registerTopCommand } from "./commands/top/index.ts";
import { registerStoreCommands } from "./commands/store/index.ts";

export function buildProgram(): Command {
  const program = new Command("mudsync")
    .description(
      "Operate and test an offline-first sync layer: inspect, replay and drain durable client event " +
        "queues (Dexie/IndexedDB exports), apply them to PostgreSQL in batches, load-test and break it.",
    )
    .version("0.1.0")
    .option("--store <dir>", "store directory (queue, cache, embedded database)  [env: MUDSYNC_STORE, default ./.mudsync]")
    .option("--db <url>", "postgres://… server; without it the embedded PGlite in the store is used  [env: DATABASE_URL]")
    .option("--config <file>", "config file (default: mudsync.config.yaml|json in the current directory)")
    .option("--json", 'print the result as JSON on stdout (progress as NDJSON on stderr; an error as one {"error": {code, exit, message, …}} line on stderr)')
    .addOption(
      new Option("--log-level <level>", "log level").choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    )
    .addHelpText("after", `\n${EXIT_CODE_HELP}\n`)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  registerQueueCommands(program);
  registerDbCommands(program);
  registerConflictsCommands(program);
  registerDaemonCommand(program);
  registerDemoCommand(program);
  registerSimCommands(program);
  registerAuditCommands(program);
  registerBenchCommands(program);
  registerDoctorCommand(program);
  registerTopCommand(program);
  registerStoreCommands(program);
  return program;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const json = jsonRequested(argv);
  // with --json a usage error is reported once, as the JSON object, instead of commander's text
  if (json) forEachCommand(program, (c) => c.configureOutput({ outputError: () => {}, writeErr: () => {} }));
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.Ok;
  } catch (err) {
    return handleError(err, { json });
  }
}

/**
 * The one top-level handler: a known error is one line (or with --json one JSON object) on stderr
 * and its exit code; anything else is unexpected and shows its stack. Help and version exit 0.
 */
export function handleError(err: unknown, opts: { json?: boolean } = {}): number {
  process.stderr.write(errorText(err, opts.json === true));
  return errorReport(err)?.exit ?? ExitCode.Ok;
}

function forEachCommand(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) forEachCommand(sub, fn);
}
