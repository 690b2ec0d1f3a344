/**
 * `mudsync daemon` as a child process for integration tests: starts it on a free loopback port,
 * reads the control address from its first JSON log line (which must be {"event":"listening"}),
 * and resolves once /healthz answers 200.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { BIN, ROOT } from "../cli/queue-run.ts";

export interface ChildDaemon {
  child: ChildProcess;
  /** the control API, e.g. http://127.0.0.1:41234 */
  url: string;
  stderr: () => string;
  /** every JSON log line so far */
  logs: () => Record<string, unknown>[];
  exited: Promise<number | null>;
}

export async function startDaemon(args: string[]): Promise<ChildDaemon> {
  const child = spawn(process.execPath, [BIN, "daemon", "--listen", "127.0.0.1:0", ...args], {
    cwd: ROOT,
    env: { ...process.env, MUDSYNC_STORE: "", DATABASE_URL: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const logs = () =>
    stderr
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      if (stderr.includes("\n")) {
        const first = stderr.split("\n")[0] ?? "";
        try {
          const line = JSON.parse(first) as { event?: string; control?: string };
          if (line.event === "listening" && line.control) return resolve(line.control);
        } catch {
          // reported below
        }
        return reject(new Error(`first log line is not {"event":"listening",…}: ${first}`));
      }
      if (child.exitCode !== null) return reject(new Error(`daemon exited ${child.exitCode}: ${stderr}`));
      setTimeout(check, 50);
    };
    check();
  });
  for (;;) {
    const res = await fetch(`${url}/healthz`).catch(() => undefined);
    if (res?.status === 200) break;
    if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, stderr: () => stderr, logs, exited };
}
