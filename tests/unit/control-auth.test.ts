/**
 * The control API's guards: over TCP every route but /healthz and /metrics needs the bearer token
 * (401 without it or with another one), the unix socket (0600) needs none; the token file is
 * created 0600 and a wider one is refused; --listen beyond loopback needs --listen-public;
 * /v1/import reads only regular files under its roots and never echoes what they hold; and a
 * store's directories are 0700 and its files (the lock included) 0600.
 */
import { mkdtemp, readFile, rm, stat, chmod, mkdir, writeFile, symlink } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DaemonControl } from "../../src/daemon/control-api.ts";
import { startControlServer, type ControlServer } from "../../src/daemon/control-server.ts";
import { controlUrl, parseListen, resolveListen } from "../../src/daemon/listen-address.ts";
import { controlRoutes } from "../../src/daemon/routes.ts";
import { bearerToken, loadOrCreateToken, readTokenFile, tokensEqual } from "../../src/daemon/control-token.ts";
import { importablePath, resolveImportRoots } from "../../src/daemon/import-roots.ts";
import { controlClientFor, daemonHolding, DaemonRequestError } from "../../src/commands/shared/control-client.ts";
import { openDexieStore } from "../../src/stores/dexie/index.ts";
import { fixture } from "../cli/queue-run.ts";

let dir: string;
const calls: string[] = [];
const control = {
  health: async () => ({ ok: true, paused: false, store: "s", sink: "k" }),
  metricsText: async () => ({ contentType: "text/plain", text: "m 1\n" }),
  pause: async () => (calls.push("pause"), { paused: true }),
  importFiles: async (req: { files: string[] }) => {
    calls.push(`import ${req.files.join(",")}`);
    // what the reader says about a bad row: it quotes the value it found
    const { InvalidDumpError } = await import("../../src/errors.ts");
    throw new InvalidDumpError(req.files[0]!, "data.data[0].rows[0].status", 'expected one of pending…, got "TOP-SECRET-VALUE"');
  },
} as unknown as DaemonControl;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-auth-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function withServer(
  addr: Parameters<typeof startControlServer>[0],
  opts: Partial<Parameters<typeof startControlServer>[1]>,
  fn: (s: ControlServer) => Promise<void>,
): Promise<void> {
  const s = await startControlServer(addr, { routes: controlRoutes(control), maxBodyBytes: 1024 * 1024, ...opts });
  try {
    await fn(s);
  } finally {
    await s.close(100);
  }
}

describe("bearer token over TCP", () => {
  const token = "k".repeat(40);
  it("refuses every route but /healthz and /metrics without the token, and serves them with it", async () => {
    await withServer({ kind: "tcp", host: "127.0.0.1", port: 0 }, { token }, async (s) => {
      const url = controlUrl(s.address);
      calls.length = 0;
      const none = await fetch(`${url}/v1/pause`, { method: "POST" });
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toBe('Bearer realm="mudsync"');
      expect(((await none.json()) as { error: string }).error).toMatch(/^authorization: expected Authorization: Bearer <token>/);
      const wrong = await fetch(`${url}/v1/pause`, { method: "POST", headers: { authorization: `Bearer ${"x".repeat(40)}` } });
      expect(wrong.status).toBe(401);
      expect(((await wrong.json()) as { error: string }).error).toContain("does not match");
      const prefix = await fetch(`${url}/v1/pause`, { method: "POST", headers: { authorization: `Bearer ${token.slice(0, 39)}` } });
      expect(prefix.status).toBe(401);
      expect(calls).toEqual([]);
      const right = await fetch(`${url}/v1/pause`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
      expect(right.status).toBe(200);
      expect(calls).toEqual(["pause"]);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/metrics`)).status).toBe(200);
      // a preflight carries no credentials and must be answered, and allow the header
      const pre = await fetch(`${url}/v1/batches`, { method: "OPTIONS" });
      expect(pre.status).toBe(204);
      expect(pre.headers.get("access-control-allow-headers")).toContain("authorization");
    });
  });

  it("with no token configured, TCP serves only the open routes (fails closed)", async () => {
    await withServer({ kind: "tcp", host: "127.0.0.1", port: 0 }, {}, async (s) => {
      const url = controlUrl(s.address);
      expect((await fetch(`${url}/v1/pause`, { method: "POST", headers: { authorization: "Bearer anything-at-all-anything-at-all-12345" } })).status).toBe(401);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    });
  });

  it("the CLI's client sends the token it reads from the file, and reports a 401 as bad input", async () => {
    await withServer({ kind: "tcp", host: "127.0.0.1", port: 0 }, { token }, async (s) => {
      const url = controlUrl(s.address);
      const file = path.join(dir, "client-token");
      await writeFile(file, `${token}\n`, { mode: 0o600 });
      const client = await controlClientFor(url, { tokenFile: file });
      expect(await client.post("/v1/pause")).toEqual({ paused: true });
      const err = await (await controlClientFor(url)).post("/v1/pause").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DaemonRequestError);
      expect((err as DaemonRequestError).status).toBe(401);
      expect((err as DaemonRequestError).exitCode).toBe(2);
    });
  });

  it("the unix socket needs no token (mode 0600 keeps other accounts out)", async () => {
    const socket = path.join(dir, "c.sock");
    await withServer({ kind: "unix", path: socket }, { token }, async (s) => {
      expect((await stat(socket)).mode & 0o777).toBe(0o600);
      const status = await new Promise<number>((resolve, reject) => {
        http.request({ socketPath: socket, method: "POST", path: "/v1/pause" }, (res) => (res.resume(), resolve(res.statusCode!))).on("error", reject).end();
      });
      expect(status).toBe(200);
      expect(controlUrl(s.address)).toBe(`unix:${socket}`);
    });
  });
});

describe("token file", () => {
  it("is created 0600 with a long random token, and read back unchanged on the next start", async () => {
    const file = path.join(dir, "store-a", "control-token");
    const t1 = await loadOrCreateToken(file);
    expect(t1).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect(await loadOrCreateToken(file)).toBe(t1);
    expect(await loadOrCreateToken(path.join(dir, "store-b", "control-token"))).not.toBe(t1);
  });

  it("refuses a file other accounts may read, and one without a usable token", async () => {
    const wide = path.join(dir, "wide-token");
    await writeFile(wide, "w".repeat(40), { mode: 0o644 });
    await chmod(wide, 0o644);
    await expect(loadOrCreateToken(wide)).rejects.toThrow(/mode 644 lets other accounts read the control API token; expected 600/);
    const short = path.join(dir, "short-token");
    await writeFile(short, "abc", { mode: 0o600 });
    await expect(readTokenFile(short, "--token-file")).rejects.toThrow(/expected one token of 32 to 1024 printable characters/);
    expect(await readTokenFile(path.join(dir, "none"), "--token-file")).toBeUndefined();
  });

  it("compares in constant time over hashes and parses the header strictly", () => {
    expect(tokensEqual("a".repeat(40), "a".repeat(40))).toBe(true);
    expect(tokensEqual("a".repeat(40), "a".repeat(41))).toBe(false);
    expect(tokensEqual("", "a")).toBe(false);
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer abc ")).toBe("abc");
    expect(bearerToken("Basic abc")).toBeUndefined();
    expect(bearerToken("Bearer a b")).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe("--listen-public", () => {
  it("is needed to bind beyond loopback, and needs --listen", () => {
    expect(() => parseListen("0.0.0.0:7878")).toThrow(/not a loopback address.*unless --listen-public is given/);
    expect(parseListen("0.0.0.0:7878", true)).toEqual({ kind: "tcp", host: "0.0.0.0", port: 7878 });
    expect(() => parseListen("example.com:7878", true)).toThrow(/expected an IP address to bind/);
    expect(() => resolveListen({ listenPublic: true }, "/")).toThrow(/--listen-public: expected --listen HOST:PORT too/);
  });

  it("a public listener accepts any Host header; a loopback one refuses a foreign Host (DNS rebinding)", async () => {
    const token = "p".repeat(40);
    const get = (port: number, host: string) =>
      new Promise<number>((resolve, reject) => {
        http
          .get({ host: "127.0.0.1", port, path: "/v1/status", headers: { host, authorization: `Bearer ${token}` } }, (res) => (res.resume(), resolve(res.statusCode!)))
          .on("error", reject);
      });
    await withServer({ kind: "tcp", host: "127.0.0.1", port: 0 }, { token }, async (s) => {
      expect(await get((s.address as { port: number }).port, "evil.test")).toBe(403);
    });
    await withServer({ kind: "tcp", host: "127.0.0.1", port: 0 }, { token, public: true }, async (s) => {
      // status is not implemented by this stand-in daemon: any answer past the guards is a 500
      expect(await get((s.address as { port: number }).port, "sync.example.com")).toBe(500);
    });
  });
});

describe("POST /v1/import file rules", () => {
  const token = "i".repeat(40);
  const post = (url: string, files: string[]) =>
    fetch(`${url}/v1/import`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ files }),
    });

  it("reads only regular files under --import-root, by real path, and withholds what a bad file holds", async () => {
    const root = path.join(dir, "imports");
    await mkdir(root, { recursive: true });
    const inside = path.join(root, "ok.json");
    await writeFile(inside, await readFile(fixture("sample-export.json")));
    const link = path.join(root, "escape.json");
    await symlink("/etc/passwd", link);
    const importRoots = await resolveImportRoots([root], false, "/");
    const s = await startControlServer({ kind: "tcp", host: "127.0.0.1", port: 0 }, { routes: controlRoutes(control, { importRoots }), maxBodyBytes: 1 << 20, token });
    try {
      const url = controlUrl(s.address);
      calls.length = 0;
      const outside = await post(url, ["/etc/passwd"]);
      expect(outside.status).toBe(403);
      expect(((await outside.json()) as { error: string }).error).toMatch(/^\/etc\/passwd: outside the daemon's import roots/);
      const viaLink = await post(url, [link]);
      expect(viaLink.status).toBe(403);
      expect(calls).toEqual([]);
      const bad = await post(url, [inside]);
      expect(bad.status).toBe(400);
      const message = ((await bad.json()) as { error: string }).error;
      expect(message).toContain(await import("node:fs/promises").then((f) => f.realpath(inside)));
      expect(message).toContain("details withheld by the daemon");
      expect(message).not.toContain("TOP-SECRET-VALUE");
      expect(message).not.toContain("rows[0]");
    } finally {
      await s.close(100);
    }
  });

  it("refuses devices and directories anywhere, and every file when public without roots", async () => {
    expect(await importablePath("/dev/null", { kind: "any" }).catch((e: { status: number }) => e.status)).toBe(400);
    expect(await importablePath(dir, { kind: "any" }).catch((e: { status: number }) => e.status)).toBe(400);
    const none = await resolveImportRoots(undefined, true, "/");
    expect(none).toEqual({ kind: "none" });
    await expect(importablePath(fixture("sample-export.json"), none)).rejects.toThrow(/reads no files unless started with --import-root/);
    await expect(resolveImportRoots(["no-such-dir"], false, dir)).rejects.toThrow(/--import-root .*no-such-dir: ENOENT; expected an existing directory/);
  });
});

describe("store file modes", () => {
  it("a new store is 0700 with 0600 files, the lock (naming the control address and token file) included", async () => {
    const storeDir = path.join(dir, "new-store");
    const store = await openDexieStore({ dir: storeDir, mode: "write", command: "t", control: "http://127.0.0.1:1", tokenFile: "/x/control-token" });
    try {
      await store.enqueue([{ id: "e1", type: "add", entity: "well", entityId: "w", payload: {}, timestamp: 1, status: "pending", retryCount: 0 }]);
      expect((await stat(storeDir)).mode & 0o777).toBe(0o700);
      expect((await stat(path.join(storeDir, "queue"))).mode & 0o777).toBe(0o700);
      const lock = path.join(storeDir, "queue", "LOCK");
      expect((await stat(lock)).mode & 0o777).toBe(0o600);
      expect(JSON.parse(await readFile(lock, "utf8"))).toMatchObject({ control: "http://127.0.0.1:1", tokenFile: "/x/control-token" });
      const wal = path.join(storeDir, "queue", "wal-000000.log");
      expect((await stat(wal)).mode & 0o777).toBe(0o600);
    } finally {
      await store.close();
    }
  });

  it("an existing store directory that others could read is narrowed to 0700 when opened for writing", async () => {
    const storeDir = path.join(dir, "old-store");
    await mkdir(path.join(storeDir, "queue"), { recursive: true });
    await chmod(storeDir, 0o755);
    await chmod(path.join(storeDir, "queue"), 0o755);
    const store = await openDexieStore({ dir: storeDir, mode: "write", command: "t" });
    await store.close();
    expect((await stat(storeDir)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(storeDir, "queue"))).mode & 0o777).toBe(0o700);
  });

  it("the CLI finds the daemon's token through the file the lock names", async () => {
    const storeDir = path.join(dir, "held-store");
    const tokenFile = path.join(dir, "held-token");
    const token = await loadOrCreateToken(tokenFile);
    const seen: (string | undefined)[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.setHeader("content-type", "application/json");
      res.end("{}");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const store = await openDexieStore({ dir: storeDir, mode: "write", command: "daemon", control: `http://127.0.0.1:${port}`, tokenFile });
    try {
      const held = await daemonHolding(storeDir);
      expect(held?.pid).toBe(process.pid);
      await held!.client.get("/v1/status");
      expect(seen).toEqual([`Bearer ${token}`]);
    } finally {
      await store.close();
      await new Promise((r) => server.close(r));
    }
  });
});
