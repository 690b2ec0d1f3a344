/**
 * A real terminal for end-to-end tests: a detached tmux session of a fixed size running one
 * command, keys sent with `send-keys`, the screen read with `capture-pane`. Each session gets its
 * own socket (`tmux -L`), so tests never touch a user's tmux server; `kill()` ends the server.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export interface TmuxSession {
  /** the visible screen, lines joined with \n (trailing spaces trimmed) */
  screen(): string;
  /** tmux key names ("Enter", "Escape", "Down") or literal text with `literal` */
  keys(keys: string[], opts?: { literal?: boolean }): void;
  /** waits until `ok(screen)` holds; fails with the last screen after `timeoutMs` */
  waitFor(ok: (screen: string) => boolean, timeoutMs?: number, what?: string): Promise<string>;
  /** true once the command in the pane has exited */
  exited(): boolean;
  /** the pid of the pane's process (the command itself when the shell exec'd it) */
  pid(): number;
  kill(): void;
}

export function tmuxAvailable(): boolean {
  try {
    execFileSync("tmux", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export function startTmux(command: string, opts: { width?: number; height?: number; cwd?: string; env?: Record<string, string> } = {}): TmuxSession {
  const socket = `mudsync-test-${randomBytes(4).toString("hex")}`;
  const tmux = (...args: string[]) => execFileSync("tmux", ["-L", socket, "-f", "/dev/null", ...args], { encoding: "utf8", cwd: opts.cwd });
  // a person's terminal, not CI: with CI set (as on a CI runner) Ink draws only the last frame
  const env = Object.entries({ CI: "false", CONTINUOUS_INTEGRATION: "false", ...opts.env }).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  tmux("new-session", "-d", "-s", "t", "-x", String(opts.width ?? 120), "-y", String(opts.height ?? 40), ...env, command);
  // keep the pane (and its last screen) when the command exits, so that exit can be observed
  tmux("set-option", "-t", "t", "remain-on-exit", "on");
  const session: TmuxSession = {
    screen: () =>
      tmux("capture-pane", "-p", "-t", "t")
        .split("\n")
        .map((l) => l.trimEnd())
        .join("\n"),
    keys: (keys, o = {}) => void tmux("send-keys", "-t", "t", ...(o.literal ? ["-l"] : []), ...keys),
    async waitFor(ok, timeoutMs = 20_000, what = "the expected screen") {
      const until = Date.now() + timeoutMs;
      let last = "";
      for (;;) {
        last = session.screen();
        if (ok(last)) return last;
        if (Date.now() > until) throw new Error(`tmux: ${what} did not appear within ${timeoutMs} ms; screen:\n${last}`);
        await new Promise((r) => setTimeout(r, 150));
      }
    },
    exited: () => tmux("list-panes", "-t", "t", "-F", "#{pane_dead}").trim() === "1",
    pid: () => Number(tmux("list-panes", "-t", "t", "-F", "#{pane_pid}").trim()),
    kill: () => {
      try {
        tmux("kill-server");
      } catch {
        // already gone
      }
    },
  };
  return session;
}

/**
 * Runs `command` in a fresh terminal until it exits and returns every distinct screen seen (polled
 * every 100 ms) and the exit code. The pane stays open after the command (a shell prints
 * `[exit N]` and waits), so its last screen can be read; the session is killed before returning.
 */
export async function runInTmux(
  command: string,
  opts: { width?: number; height?: number; cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ screens: string[]; final: string; code: number }> {
  const wrapped = `sh -c '${command.replace(/'/g, `'\\''`)}; echo "[exit $?]"; sleep 600'`;
  const term = startTmux(wrapped, opts);
  const screens: string[] = [];
  try {
    const until = Date.now() + (opts.timeoutMs ?? 120_000);
    for (;;) {
      const s = term.screen();
      if (screens[screens.length - 1] !== s) screens.push(s);
      const m = /^\[exit (\d+)\]$/m.exec(s);
      if (m) return { screens, final: s, code: Number(m[1]) };
      if (Date.now() > until) throw new Error(`tmux: ${command} did not end within ${opts.timeoutMs ?? 120_000} ms; screen:\n${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    term.kill();
  }
}
