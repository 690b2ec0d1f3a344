/** Flags of `mudsync bench …`; the implementations are imported lazily. */
import { type Command, InvalidArgumentError, Option } from "commander";
import { contextFrom, intArg } from "../shared/context.ts";
import { ExitCode, UsageError } from "../../errors.ts";

/** "1,10,100" -> [1, 10, 100]: distinct integers >= 1, in ascending order. */
export function batchSizesArg(value: string): number[] {
  const parts = value.split(",").map((s) => s.trim());
  const sizes = parts.map(Number);
  if (parts.some((p) => p === "") || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 100_000)) {
    throw new InvalidArgumentError(`--batch-sizes expects comma-separated integers from 1 to 100000, like 1,10,100,1000; got "${value}"`);
  }
  return [...new Set(sizes)].sort((a, b) => a - b);
}

export function registerBenchCommands(program: Command): void {
  const bench = program.command("bench").description("measure the sync pipeline on your own database");

  bench
    .command("batching")
    .description(
      "what batching buys, side by side on the same generated user actions: naive (one awaited write per action), " +
        "the seed's grouping by entity:type, mudsync (order-preserving batching, with and without coalescing) and COPY " +
        "of the same final rows; round trips and transactions per 1000 actions, events/s, latency, CPU, peak RSS, and " +
        "whether each ends with naive's rows. Every run gets a fresh schema (dropped after) on --db, or on an embedded " +
        "PGlite in memory",
    )
    .argument("[json-file]", "after --json: write the result JSON to this file instead of stdout (and print the table)")
    .addOption(new Option("--workload <name>", "the user actions").choices(["selection", "mixed", "hot-rows"]).default("selection"))
    .option("--events <n>", "user actions per run", intArg("--events", 1), 5000)
    .option("--clients <n>", "simulated clients making them", intArg("--clients", 1), 4)
    .option("--batch-sizes <list>", "batch sizes of the batched strategies", batchSizesArg, [1, 10, 100, 1000])
    .option("--repeat <n>", "measure everything this many times; figures are medians", intArg("--repeat", 1), 3)
    .option("--seed <n>", "seed of the generated actions", intArg("--seed", 0), 1)
    .option("--report <file>", "also write a self-contained HTML report with charts")
    .addHelpText(
      "after",
      "\n`--json FILE` writes the result (schemas/bench-batching.schema.json) to FILE and prints the table; `--json` alone " +
        "prints it on stdout. Progress: a bar on a terminal, NDJSON on stderr with --json." +
        `\nExit codes: 0 done (seed ending wrong is expected); ${ExitCode.VerdictFailed} a strategy other than seed ended with rows different from naive's; 2 a bad flag; 5 the server could not be reached.`,
    )
    .action(async (jsonFile: string | undefined, opts: Record<string, unknown>, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      if (jsonFile !== undefined && !ctx.json) {
        throw new UsageError(`bench batching takes a file only after --json (--json ${jsonFile}); got "${jsonFile}" alone`);
      }
      const { benchBatching, renderBenchBatching } = await import("./batching.ts");
      const { emit } = await import("../shared/output.ts");
      const result = await benchBatching({ ...(opts as object), jsonFile } as Parameters<typeof benchBatching>[0], ctx);
      if (jsonFile === undefined) emit(result, renderBenchBatching, ctx);
      else emit(result, renderBenchBatching, { json: false });
      if (!result.strategies.every((s) => s.correct || s.name === "seed")) process.exitCode = ExitCode.VerdictFailed;
    });
}
