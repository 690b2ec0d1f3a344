/**
 * `mudsync daemon` as a child process for integration tests: starts it on a free loopback port,
 * reads the control address and token file from its first JSON log line (which must be
 * {"event":"listening"}), and resolves once /healthz answers 200. `fetch` sends the daemon's
 * bearer token, as the CLI does.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { BIN, ROOT } from "../cli/queue-run.ts";

export interface ChildDaemon {
  child: ChildProcess;
  /** the control API, e.g. http://127.0.0.1:41234 */
  url: string;
  /** the bearer token from the daemon's token file */
  token: string;
  /** fetch with `Authorization: Bearer <token>` */
  fetch: (url: string, init?: RequestInit) => Promise<Response>;
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
  const { url, tokenFile } = await new Promise<{ url: string; tokenFile: string }>((resolve, reject) => {
    const check = () => {
      if (stderr.includes("\n")) {
        const first = stderr.split("\n")[0] ?? "";
        try {
          const line = JSON.parse(first) as { event?: string; control?: string; tokenFile?: string };
          if (line.event === "listening" && line.control && line.tokenFile) return resolve({ url: line.control, tokenFile: line.tokenFile });
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
  const token = readFileSync(tokenFile, "utf8").trim();
  const authed = (u: string, init: RequestInit = {}) =>
    fetch(u, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` } });
  return { child, url, token, fetch: authed, stderr: () => stderr, logs, exited };
}
