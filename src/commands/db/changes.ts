/**
 * `mudsync db changes`: prints the realtime feed of the entity tables, one line per change (NDJSON
 * with --json). Without --follow it listens for a window (--for, default 2 s) and exits; with
 * --follow until SIGINT/SIGTERM; --count stops after n changes. Exit 0 in every case; a feed that
 * cannot start is an Unavailable error (exit 5). Returns the changes it printed.
 */
import type { RowChange } from "../../core/ports.ts";
import { formatDuration } from "../../core/format-duration.ts";
import { UsageError } from "../../errors.ts";
import { openChangeFeed } from "../../realtime/open-change-feed.ts";
import type { CommandContext } from "../shared/context.ts";
import { progressWriter } from "../shared/output.ts";

export interface DbChangesOptions {
  follow: boolean;
  forMs: number;
  count?: number;
  source?: "pg" | "supabase";
}

export type PrintedChange = RowChange & { at: string };

export interface DbChangesIo {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** ends the command like SIGINT does (tests, embedding) */
  signal?: AbortSignal;
}

export function renderChange(c: PrintedChange): string {
  return `${c.at}  ${c.op.padEnd(6)}  ${c.entity} ${c.id}  v${c.version}${c.changedBy ? `  by ${c.changedBy}` : ""}`;
}

export async function dbChanges(options: DbChangesOptions, ctx: CommandContext, io: DbChangesIo = {}): Promise<PrintedChange[]> {
  if (!options.follow && options.forMs <= 0) throw new UsageError("--for must be longer than 0");
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const progress = progressWriter(ctx.json, stderr);
  const note = (message: string) => (ctx.json ? progress({ warning: message }) : stderr.write(`mudsync: ${message}\n`));
  const opened = openChangeFeed(ctx.config, { source: options.source, onProblem: note, env: ctx.env });

  const printed: PrintedChange[] = [];
  const done = new AbortController();
  const stop = () => done.abort();
  io.signal?.addEventListener("abort", stop, { once: true });
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => Promise<void>) | undefined;
  try {
    unsubscribe = await opened.feed.subscribe((change) => {
      if (done.signal.aborted) return;
      const line: PrintedChange = { ...change, at: new Date().toISOString() };
      printed.push(line);
      stdout.write(`${ctx.json ? JSON.stringify(line) : renderChange(line)}\n`);
      if (options.count !== undefined && printed.length >= options.count) stop();
    });
    if (ctx.json) progress({ listening: opened.source, follow: options.follow, forMs: options.follow ? null : options.forMs });
    else stderr.write(`listening: ${opened.source}${options.follow ? " (until interrupted)" : ` for ${formatDuration(options.forMs)}`}\n`);
    if (!options.follow) timer = setTimeout(stop, options.forMs);
    if (!done.signal.aborted) await new Promise((resolve) => done.signal.addEventListener("abort", resolve, { once: true }));
  } finally {
    clearTimeout(timer);
    process.removeListener("SIGINT", stop);
    process.removeListener("SIGTERM", stop);
    io.signal?.removeEventListener("abort", stop);
    await unsubscribe?.();
    await opened.close();
  }
  return printed;
}
