/** Flags of `mudsync top`; the implementation (and Ink) is imported lazily. */
import type { Command } from "commander";
import { contextFrom, durationArg, intArg } from "../shared/context.ts";

export function registerTopCommand(program: Command): void {
  program
    .command("top")
    .description(
      "live dashboard of a queue: counts by status, throughput, oldest pending, retries and dead letters, conflicts " +
        "waiting, the batch in flight, the change feed, the doctor's top findings, and the events page by page. " +
        "Watches a daemon (--daemon, or the daemon holding --store) and acts through its control API, or reads a store " +
        "or a shared queue directly, read-only.",
    )
    .option("--daemon <address>", "a daemon's control address: http://127.0.0.1:PORT, 127.0.0.1:PORT or a unix socket path")
    .option("--token-file <file>", "the daemon's control API token (default: MUDSYNC_CONTROL_TOKEN, else <store>/control-token)")
    .option("--queue <url>", "the shared Postgres queue at this postgres:// URL, read-only (no daemon needed)")
    .option("--once", "print one snapshot and exit (with --json: the data model; also what happens when not on a terminal)")
    .option("--interval <duration>", "refresh interval (default 1s)", durationArg("--interval"))
    .option("--limit <n>", "events per page (default: what fits the terminal; 20 with --once)", intArg("--limit", 1))
    .addHelpText(
      "after",
      "\nKeys: ↑↓/j k move · enter inspect (payload, attempts, last error, history) · r retry the selected event · " +
        "R retry all failed and dead · d drain now · p pause/resume · / filter (failed,dead entity:well newest) · ? help · q quit." +
        "\nReading a store or a shared queue directly is read-only: the keys that write say so. top never writes a store it reads." +
        '\nWith --json (implies --once) prints {source, at, counts, oldestPending, daemon, throughput, inFlight, changes, conflicts, page, findings}.',
    )
    .action(async (opts: { daemon?: string; tokenFile?: string; queue?: string; once?: boolean; interval?: number; limit?: number }, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { top, renderTop } = await import("./top.ts");
      const { emit } = await import("../shared/output.ts");
      const r = await top({ daemon: opts.daemon, tokenFile: opts.tokenFile, queue: opts.queue, once: opts.once, intervalMs: opts.interval, limit: opts.limit }, ctx);
      if (!r) return;
      const text = ctx.json ? "" : await renderTop(r);
      emit(r, () => text, ctx);
    });
}
