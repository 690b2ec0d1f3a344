/**
 * Runs a child process and measures its wall time and peak resident memory. Peak RSS comes from
 * GNU time (`/usr/bin/time -f %M`) when installed, else from polling /proc/<pid>/status VmHWM
 * (the kernel's high-water mark, so the last reading before exit is the peak).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { now } from "./stats.ts";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const GNU_TIME = "/usr/bin/time";

export interface MeasuredRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  wallMs: number;
  /** peak RSS in MB, or null if it could not be read */
  peakRssMb: number | null;
  stdout: string;
  stderr: string;
  rssSource: "gnu-time" | "proc-vmhwm" | "none";
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** kill the child after this long (ms) */
  timeoutMs?: number;
  input?: string;
}

/** The kernel's peak-RSS high-water mark of a live process, in kB (null once it has exited). */
export function readVmHwmKb(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export async function runMeasured(command: string, args: string[], opts: RunOptions = {}): Promise<MeasuredRun> {
  const useTime = existsSync(GNU_TIME);
  const tmp = mkdtempSync(path.join(os.tmpdir(), "mudsync-bench-time-"));
  const timeFile = path.join(tmp, "time.txt");
  const [cmd, argv] = useTime ? [GNU_TIME, ["-f", "%M", "-o", timeFile, command, ...args]] : [command, args];
  const t0 = now();
  const child = spawn(cmd, argv, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: opts.env ?? process.env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.stdin.end(opts.input ?? "");
  let polledKb: number | null = null;
  const poll = useTime
    ? undefined
    : setInterval(() => {
        if (child.pid) polledKb = readVmHwmKb(child.pid) ?? polledKb;
      }, 20);
  const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : undefined;
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (c, s) => resolve([c, s]));
    });
    const wallMs = now() - t0;
    let peakRssMb: number | null = null;
    let rssSource: MeasuredRun["rssSource"] = "none";
    if (useTime) {
      const kb = Number(/^(\d+)\s*$/m.exec(existsSync(timeFile) ? readFileSync(timeFile, "utf8") : "")?.[1]);
      if (Number.isFinite(kb) && kb > 0) {
        peakRssMb = kb / 1024;
        rssSource = "gnu-time";
      }
    } else if (polledKb !== null) {
      peakRssMb = polledKb / 1024;
      rssSource = "proc-vmhwm";
    }
    return { code, signal, wallMs, peakRssMb, stdout, stderr, rssSource };
  } finally {
    if (poll) clearInterval(poll);
    if (timer) clearTimeout(timer);
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The CLI as a child: `node bin/mudsync.js …`. */
export function runCli(args: string[], opts: RunOptions = {}): Promise<MeasuredRun> {
  return runMeasured(process.execPath, [path.join(REPO_ROOT, "bin/mudsync.js"), ...args], opts);
}

/** The child's error line for reports: its `mudsync:` line, else its last line that is not progress. */
export function firstErrorLine(run: MeasuredRun): string {
  const lines = `${run.stderr}\n${run.stdout}`.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith('{"progress"'));
  const line = lines.find((l) => l.startsWith("mudsync:")) ?? lines.at(-1) ?? "";
  return `exit ${run.code ?? run.signal}${line ? `: ${line.slice(0, 300)}` : ""}`;
}
