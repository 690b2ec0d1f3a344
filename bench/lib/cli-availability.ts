/** Whether a CLI subcommand has landed: `mudsync <cmd…> --help` must succeed and name it. */
import { firstErrorLine, runCli } from "./run-measured.ts";

export async function cliCommandAvailable(words: string[]): Promise<{ ok: true } | { ok: false; reason: string }> {
  const run = await runCli([...words, "--help"], { timeoutMs: 30_000 });
  const usage = new RegExp(`Usage: mudsync ${words.join(" ")}\\b`);
  if (run.code === 0 && usage.test(run.stdout)) return { ok: true };
  return { ok: false, reason: `\`mudsync ${words.join(" ")}\` has not landed (${firstErrorLine(run)})` };
}
