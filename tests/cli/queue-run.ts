/**
 * Runs the real `mudsync` binary for the queue CLI tests: a fresh temp store per call site, the
 * child's exit code, stdout and stderr, optional stdin. Every temp dir is removed by `cleanup()`.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, expect } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const BIN = path.join(ROOT, "bin/mudsync.js");
export const fixture = (name: string) => path.join(ROOT, "fixtures", name);

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, MUDSYNC_STORE: "", ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? "");
  });
}

/** Temp directories for stores and output files; `cleanup()` removes them all. */
export function tempDirs() {
  const dirs: string[] = [];
  return {
    make(prefix = "mudsync-cli-"): string {
      const d = mkdtempSync(path.join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    cleanup(): void {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** Lines of stderr that are not NDJSON progress. */
export function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.trim() !== "" && !l.startsWith('{"progress":true'));
}

/** Registers hooks that import the sample export into a fresh store for the file; returns its path. */
export function sampleStore(): { readonly dir: string; readonly sample: string } {
  const temp = tempDirs();
  const state = { dir: "", sample: fixture("sample-export.json") };
  beforeAll(async () => {
    state.dir = path.join(temp.make(), "store");
    const r = await run(["queue", "import", state.sample, "--store", state.dir]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => temp.cleanup());
  return state;
}
