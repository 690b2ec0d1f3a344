/** `mudsync sim check HISTORY`: the checker again, on a recorded history alone. */
import path from "node:path";
import { readHistory } from "../../sim/history/read-history.ts";
import { checkHistory } from "../../sim/checker/create-checker.ts";
import type { Verdict } from "../../sim/checker/verdict.ts";
import type { CommandContext } from "../shared/context.ts";
import { renderVerdict } from "./render-verdict.ts";

export interface SimCheckResult {
  history: string;
  verdict: Verdict;
}

export async function simCheck(file: string, ctx: CommandContext): Promise<SimCheckResult> {
  const history = path.resolve(ctx.cwd, file);
  return { history, verdict: await checkHistory(readHistory(history)) };
}

export function renderSimCheck(r: SimCheckResult): string {
  return [`history ${r.history}`, renderVerdict(r.verdict, "  "), `  verdict: ${r.verdict.pass ? "PASS" : "FAIL"}`].join("\n");
}
