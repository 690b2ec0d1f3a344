/**
 * Runs one benchmark task (bench/tasks/*.ts) in its own Node process, so that its memory is its
 * own and measurable. A task prints one JSON object as its last stdout line.
 */
import path from "node:path";
import { REPO_ROOT, firstErrorLine, runMeasured, type MeasuredRun, type RunOptions } from "./run-measured.ts";

export interface TaskRun<T> {
  result: T;
  run: MeasuredRun;
}

export async function runTask<T>(task: string, params: unknown, opts: RunOptions = {}): Promise<TaskRun<T>> {
  const file = path.join(REPO_ROOT, "bench/tasks", `${task}.ts`);
  const run = await runMeasured(process.execPath, ["--import", "tsx", file, JSON.stringify(params)], opts);
  const last = run.stdout.trim().split("\n").pop() ?? "";
  if (run.code !== 0) throw new Error(`task ${task} failed (${firstErrorLine(run)})`);
  try {
    return { result: JSON.parse(last) as T, run };
  } catch {
    throw new Error(`task ${task} printed no JSON result (last line: ${last.slice(0, 200)})`);
  }
}
