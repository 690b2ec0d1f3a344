/**
 * Runs the CLI's `main` inside the test process, with the same result shape as the spawned binary
 * (queue-run.ts `run`): stdout, stderr and stdin are swapped for the call, runs are serialised,
 * and a run that leaves a signal listener or an open handle behind fails as the binary would hang.
 * It saves the ~0.6-1 s start of a child per call; keep at least one spawned run per command kind.
 * Start no other process or server while a run is in flight: its handles would count as the run's.
 */
import { Readable } from "node:stream";
import { main } from "../../src/cli.ts";
import { BIN, ROOT, type RunResult } from "../cli/queue-run.ts";

let queue: Promise<unknown> = Promise.resolve();

/** `mudsync <args>` in this process; the environment gets MUDSYNC_STORE="" and `opts.env` as a child would. */
export function runInProcess(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  const next = queue.then(() => runNow(args, opts));
  queue = next.catch(() => {});
  return next;
}

/** Handles a run may leave only while they close (a socket's last tick); listed by type. */
function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

function grown(before: Map<string, number>, after: Map<string, number>): string[] {
  return [...after].filter(([type, n]) => n > (before.get(type) ?? 0)).map(([type, n]) => `${type} +${n - (before.get(type) ?? 0)}`);
}

async function runNow(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv }): Promise<RunResult> {
  if (process.cwd() !== ROOT) throw new Error(`runInProcess expects the cwd ${ROOT}, got ${process.cwd()}`);
  const env: NodeJS.ProcessEnv = { MUDSYNC_STORE: "", ...opts.env };
  const savedEnv = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const signals = { SIGINT: process.listenerCount("SIGINT"), SIGTERM: process.listenerCount("SIGTERM") };
  const before = resources();
  let stdout = "";
  let stderr = "";
  const capture = (append: (s: string) => void) =>
    function write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
      append(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      const done = typeof encoding === "function" ? encoding : cb;
      if (typeof done === "function") process.nextTick(done as () => void);
      return true;
    };
  const out = process.stdout.write;
  const err = process.stderr.write;
  const stdin = Object.getOwnPropertyDescriptor(process, "stdin")!;
  for (const [k, v] of Object.entries(env)) process.env[k] = v;
  process.stdout.write = capture((s) => (stdout += s)) as typeof process.stdout.write;
  process.stderr.write = capture((s) => (stderr += s)) as typeof process.stderr.write;
  Object.defineProperty(process, "stdin", { configurable: true, enumerable: true, value: Readable.from([Buffer.from(opts.input ?? "")]) });
  process.exitCode = undefined;
  let code: number;
  try {
    code = await main([process.execPath, BIN, ...args]);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    Object.defineProperty(process, "stdin", stdin);
    process.exitCode = undefined;
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  for (const s of ["SIGINT", "SIGTERM"] as const) {
    if (process.listenerCount(s) !== signals[s]) throw new Error(`mudsync ${args.join(" ")} left a ${s} listener behind`);
  }
  // what a child would wait for before exiting: anything still open a moment later is a leak
  await new Promise((r) => setImmediate(r));
  for (let i = 0; grown(before, resources()).length > 0; i++) {
    if (i === 50) throw new Error(`mudsync ${args.join(" ")} left handles open: ${grown(before, resources()).join(", ")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { code, stdout, stderr };
}
