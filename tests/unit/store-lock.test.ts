/** The writer's lock: conflicts name the holder, stale locks are taken over, readers need none. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ExitCode, StoreLockedError } from "../../src/errors.ts";
import { lockInfo, openDexieStore } from "../../src/stores/dexie/index.ts";
import { makeEvent } from "../contract/queue-store-contract.ts";

const CHILD = path.resolve(import.meta.dirname, "../helpers/store-child.ts");
let dir: string;
let child: ChildProcess | undefined;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-lock-"));
});
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child!.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  }
  child = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Starts a child that holds the store open for writing. */
function holdInChild(): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ["--import", "tsx", CHILD, dir, "hold"], { stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    let err = "";
    c.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    c.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve(c));
    c.on("exit", (code) => reject(new Error(`holder exited early (${code}): ${err}`)));
  });
}

describe("dexie store lock", () => {
  it("a second writer gets StoreLockedError naming the holder's pid; a reader can still read", async () => {
    const s = await openDexieStore({ dir, mode: "write", command: "first" });
    await s.enqueue([makeEvent(1)]);
    await s.close();
    const holder = await holdInChild();
    const info = await lockInfo(dir);
    expect(info).toMatchObject({ pid: holder.pid, command: "store-child", alive: true });

    const err = await openDexieStore({ dir, mode: "write" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreLockedError);
    expect((err as StoreLockedError).holderPid).toBe(holder.pid);
    expect((err as Error).message).toContain(`pid ${holder.pid}`);
    expect((err as StoreLockedError).exitCode).toBe(ExitCode.Locked);

    const reader = await openDexieStore({ dir, mode: "read" });
    try {
      expect(reader.capabilities.readOnly).toBe(true);
      expect((await reader.get("evt-00001"))?.id).toBe("evt-00001");
      await expect(reader.enqueue([makeEvent(2)])).rejects.toThrow(/read-only/);
      await expect(reader.cache.set({ key: "k", data: 1, timestamp: 1, ttl: 1, version: 1 })).rejects.toThrow(/read-only/);
    } finally {
      await reader.close();
    }
  });

  it("the same process cannot open a store twice for writing", async () => {
    const s = await openDexieStore({ dir, mode: "write" });
    try {
      await expect(openDexieStore({ dir, mode: "write" })).rejects.toThrow(`pid ${process.pid}`);
    } finally {
      await s.close();
    }
    // closed: the lock is gone and the store opens again
    const again = await openDexieStore({ dir, mode: "write" });
    await again.close();
    await again.close(); // idempotent
  });

  it("takes over a stale lock of a process that is gone, with a note", async () => {
    const gone = spawn(process.execPath, ["-e", ""]);
    await new Promise((r) => gone.once("exit", r));
    await mkdir(path.join(dir, "queue"), { recursive: true });
    await writeFile(path.join(dir, "queue", "LOCK"), JSON.stringify({ pid: gone.pid, startedAt: 1, command: "old daemon" }));
    expect(await lockInfo(dir)).toMatchObject({ pid: gone.pid, alive: false });
    const s = await openDexieStore({ dir, mode: "write", command: "new", control: "unix:/tmp/x.sock" });
    try {
      expect(s.warnings[0]).toMatch(new RegExp(`stale lock .* pid ${gone.pid} .*old daemon`));
      const lock = JSON.parse(await readFile(path.join(dir, "queue", "LOCK"), "utf8"));
      expect(lock).toMatchObject({ pid: process.pid, command: "new", control: "unix:/tmp/x.sock" });
    } finally {
      await s.close();
    }
    expect(await lockInfo(dir)).toBeUndefined();
  });

  it("a read-only open of a store that was never written is empty", async () => {
    const r = await openDexieStore({ dir: path.join(dir, "nothing-here"), mode: "read" });
    expect(await r.counts()).toEqual({ pending: 0, processing: 0, completed: 0, failed: 0, dead: 0 });
    await r.close();
  });
});
