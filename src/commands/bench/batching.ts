/**
 * `mudsync bench batching`: runs the strategies (src/bench-batching/) and returns the result; with
 * `--json FILE` it also writes the JSON there, with `--report FILE` the HTML report.
 */
import { accessSync, constants, existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { BenchBatchingResult } from "../../bench-batching/result.ts";
import type { BenchOptions } from "../../bench-batching/run-bench.ts";
import { UsageError } from "../../errors.ts";
import type { CommandContext } from "../shared/context.ts";
import { createProgress } from "../shared/progress.ts";

export { renderBenchBatching } from "./render-batching.ts";

export type BenchBatchingOptions = Omit<BenchOptions, "db" | "onProgress"> & {
  /** where to write the HTML report */
  report?: string;
  /** where to write the JSON (with `--json FILE`) */
  jsonFile?: string;
};

/** Fails before anything runs if the file could not be written at the end. */
function checkWritable(flag: string, file: string, cwd: string): string {
  const full = path.resolve(cwd, file);
  try {
    accessSync(existsSync(full) ? full : path.dirname(full), constants.W_OK);
  } catch (err) {
    throw new UsageError(`${flag} ${file}: cannot write there (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return full;
}

export async function benchBatching(o: BenchBatchingOptions, ctx: CommandContext): Promise<BenchBatchingResult> {
  const jsonFile = o.jsonFile === undefined ? undefined : checkWritable("--json", o.jsonFile, ctx.cwd);
  const report = o.report === undefined ? undefined : checkWritable("--report", o.report, ctx.cwd);
  const { runBatchingBench } = await import("../../bench-batching/run-bench.ts");
  const progress = createProgress(ctx);
  const result = await runBatchingBench({
    db: ctx.config.db,
    workload: o.workload,
    events: o.events,
    clients: o.clients,
    batchSizes: o.batchSizes,
    repeat: o.repeat,
    seed: o.seed,
    onProgress: (done, total, label) => {
      const e = { phase: done === total ? "bench batching" : `bench batching: ${label}`, done, total, unit: "actions" };
      if (done === total) progress.finish(e);
      else progress.update(e);
    },
  });
  if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
  if (report) {
    const { renderReportHtml } = await import("../../bench-batching/report-html.ts");
    writeFileSync(report, renderReportHtml(result));
  }
  return result;
}
