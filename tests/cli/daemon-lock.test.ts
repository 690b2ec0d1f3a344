/**
 * A second daemon on a store another daemon holds stops with the lock error before it serves
 * anything: it never logs `listening` and never binds its control address.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, ROOT, errorLines, run, tempDirs } from "./queue-run.ts";

/** nothing listens on port 1: the daemons run without a server, which is all this test needs */
const DEAD_DB = "postgres://postgres@127.0.0.1:1/nowhere";
const ENV = { DATABASE_URL: "", MUDSYNC_DB: "", SUPABASE_URL: "" };

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

/** The first daemon, without a server (so /healthz stays 503): ready once it logs `started`. */
async function firstDaemon(store: string) {
  const child = spawn(process.execPath, [BIN, "daemon", "--store", store, "--db", DEAD_DB, "--listen", "127.0.0.1:0"], {
    cwd: ROOT,
    env: { ...process.env, MUDSYNC_STORE: "", ...ENV },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  while (!stderr.includes('"event":"started"')) {
    if (child.exitCode !== null) throw new Error(`first daemon exited ${child.exitCode}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = (JSON.parse(stderr.split("\n")[0]!) as { control: string }).control;
  return { child, url, exited };
}

describe("a second daemon on a locked store", () => {
  it("exits 4 with the lock error and never logs listening (tcp and unix socket)", async () => {
    const store = dirs.make();
    const first = await firstDaemon(store);
    try {
      const tcp = await run(["daemon", "--store", store, "--db", DEAD_DB, "--listen", "127.0.0.1:0"], { env: ENV });
      expect(tcp.code, tcp.stderr).toBe(4);
      expect(tcp.stderr).not.toContain('"listening"');
      expect(errorLines(tcp.stderr)).toEqual([
        expect.stringMatching(new RegExp(`^mudsync: store ${store} is locked for writing by pid ${first.child.pid} .*control ${first.url}`)),
      ]);

      const socket = path.join(store, "second.sock");
      const unix = await run(["daemon", "--store", store, "--db", DEAD_DB, "--socket", socket], { env: ENV });
      expect(unix.code, unix.stderr).toBe(4);
      expect(unix.stderr).not.toContain('"listening"');
      expect(existsSync(socket)).toBe(false);

      // the first daemon still holds the store and answers
      expect((await fetch(`${first.url}/healthz`)).status).toBe(503);
    } finally {
      first.child.kill("SIGTERM");
      expect(await first.exited).toBe(0);
    }
  });
});
