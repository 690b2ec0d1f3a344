/**
 * Kills a child process with SIGKILL in the middle of a stream of enqueues and proves every
 * event it acknowledged (printed after enqueue resolved) is in the store after reopening.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { openDexieStore } from "../../src/stores/dexie/index.ts";

const CHILD = path.resolve(import.meta.dirname, "../helpers/store-child.ts");
let dir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-crash-"));
  return async () => rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  child = undefined;
});

/** Runs the child until it has acknowledged at least `acks` ids, then SIGKILLs it at a random moment. */
function runAndKill(acks: number, mode?: "compact"): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const acked: string[] = [];
    let buffered = "";
    let killAt = acks + Math.floor(Math.random() * acks);
    const c = spawn(process.execPath, ["--import", "tsx", CHILD, dir, ...(mode ? [mode] : [])], { stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    let stderr = "";
    c.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    c.stdout!.on("data", (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      acked.push(...lines);
      if (acked.length >= killAt) {
        killAt = Infinity;
        // a random extra delay so the kill lands anywhere in a write or a sync
        setTimeout(() => c.kill("SIGKILL"), Math.random() * 5);
      }
    });
    // "close" comes after stdout is drained, so every printed id has been seen
    c.on("close", (code, signal) => {
      if (signal === "SIGKILL") resolve(acked);
      else reject(new Error(`child exited with ${code}: ${stderr}`));
    });
  });
}

describe("dexie store crash safety", () => {
  it("every acknowledged enqueue survives kill -9, over several crashes", async () => {
    const all: string[] = [];
    for (let round = 0; round < 4; round++) {
      const acked = await runAndKill(200 + round * 150);
      expect(acked.length).toBeGreaterThan(0);
      all.push(...acked);
      const store = await openDexieStore({ dir, mode: "write", command: "crash test" });
      try {
        const found = await store.getMany(all);
        const missing = all.filter((_, i) => found[i] === undefined);
        expect(missing).toEqual([]);
        // the stale lock of the killed child was taken over, with a note
        expect(store.warnings.join("\n")).toMatch(/stale lock/);
      } finally {
        await store.close();
      }
    }
  });

  it("with compactions running in the background, kill -9 loses no acknowledged write and replays none twice", async () => {
    const enqueued: string[] = [];
    const settled = new Set<string>();
    for (let round = 0; round < 4; round++) {
      const acked = await runAndKill(3000 + round * 1000, "compact");
      for (const line of acked) {
        if (line.startsWith("s ")) settled.add(line.slice(2));
        else enqueued.push(line);
      }
      expect(settled.size).toBeGreaterThan(0);
      const store = await openDexieStore({ dir, mode: "write", command: "crash test" });
      try {
        const found = await store.getMany(enqueued);
        expect(enqueued.filter((_, i) => found[i] === undefined)).toEqual([]);
        const done = [...settled];
        const rows = await store.getMany(done);
        expect(done.filter((_, i) => rows[i]?.status !== "completed")).toEqual([]);
        for (const id of done) {
          const history = await store.history(id);
          const keys = history.map((h) => `${h.at} ${h.from} ${h.to} ${h.note}`);
          expect(new Set(keys).size, `history of ${id} has an entry twice`).toBe(keys.length);
          expect(history.filter((h) => h.to === "completed")).toHaveLength(1);
        }
      } finally {
        await store.close();
      }
    }
    const left = (await readdir(path.join(dir, "queue"))).filter((f) => f.startsWith("snapshot-"));
    expect(left.length).toBe(1); // compactions did run (generation 0 has no snapshot)
  });
});
