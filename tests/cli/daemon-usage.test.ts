/**
 * `mudsync daemon` flags and the daemon's behaviour when its server is down, without starting a
 * database: non-loopback addresses are refused, a unix-socket control API is 0600 and reachable
 * by the control client and by `queue enqueue`, other writers refuse a store a daemon holds,
 * /healthz answers 503 while the sink is unreachable, and a head that cannot move is reported
 * (log line and `mudsync_head_stuck`).
 */
import { spawn } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, ROOT, errorLines, fixture, run, tempDirs } from "./queue-run.ts";
import { ControlClient, DaemonRequestError } from "../../src/commands/shared/control-client.ts";

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

/** nothing listens on port 1: every connection is refused (a retryable error) */
const DEAD_DB = "postgres://postgres@127.0.0.1:1/nowhere";

describe("mudsync daemon flags", () => {
  it("refuses a non-loopback --listen with one line and exit 2", async () => {
    const store = dirs.make();
    const r = await run(["daemon", "--store", store, "--listen", "0.0.0.0:0"]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringContaining('--listen "0.0.0.0:0": refusing to bind 0.0.0.0')]);
    const r2 = await run(["daemon", "--store", store, "--listen", "192.168.1.20:8080"]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain("not a loopback address");
  });

  it("rejects --listen with --socket, a bad port and a bad --cors-origin", async () => {
    const store = dirs.make();
    const both = await run(["daemon", "--store", store, "--listen", "127.0.0.1:0", "--socket", path.join(store, "s.sock")]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--listen and --socket");
    const port = await run(["daemon", "--store", store, "--listen", "127.0.0.1:99999"]);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain("port from 0 to 65535");
    const origin = await run(["daemon", "--store", store, "--cors-origin", "http://app.test/path"]);
    expect(origin.code).toBe(2);
    expect(origin.stderr).toContain("--cors-origin");
  });
});

describe("a daemon whose server is down, on a unix socket", () => {
  it("serves health 503, takes events, reports the stuck head and stops cleanly", async () => {
    const store = dirs.make();
    const socket = path.join(store, "control.sock");
    const config = path.join(store, "mudsync.config.json");
    writeFileSync(config, JSON.stringify({ stuckAfterMs: 1000, backoff: { baseMs: 200, maxMs: 400, jitter: 0 } }));
    const child = spawn(process.execPath, [BIN, "daemon", "--store", store, "--db", DEAD_DB, "--socket", socket, "--config", config], {
      cwd: ROOT,
      env: { ...process.env, MUDSYNC_STORE: "", DATABASE_URL: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const waitFor = async (what: () => boolean | Promise<boolean>) => {
      while (!(await what())) {
        if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await waitFor(() => stderr.includes('"event":"started"'));
      expect(statSync(socket).mode & 0o777).toBe(0o600);
      const client = new ControlClient(`unix:${socket}`);
      const health = await client.get("/healthz").catch((e: unknown) => e);
      expect(health).toBeInstanceOf(DaemonRequestError);
      expect((health as DaemonRequestError).status).toBe(503);
      expect((health as Error).message).toContain("sink unreachable");

      const enq = await run(["queue", "enqueue", "--store", store, "--type", "update", "--entity", "well", "--entity-id", "w1", "--id", "e-1"]);
      expect(enq.code, enq.stderr).toBe(0);
      expect(enq.stdout).toContain("enqueued e-1");

      await waitFor(() => stderr.includes('"event":"head_stuck"'));
      expect(await client.get<string>("/metrics")).toMatch(/^mudsync_head_stuck 1$/m);
      const s = await client.get<{ head: { id: string; stuck: boolean }; counts: { failed: number; pending: number } }>("/v1/status");
      expect(s.head).toMatchObject({ id: "e-1", stuck: true });

      // an import goes through the daemon's control API on its socket
      const other = await run(["queue", "import", "--store", store, "--json", fixture("browser-export.json")]);
      expect(other.code, other.stderr).toBe(0);
      expect(other.stderr).toContain(`importing through unix:${socket}`);
      expect(JSON.parse(other.stdout).events.inserted).toBeGreaterThan(0);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(() => statSync(socket)).toThrow();
  });
});
