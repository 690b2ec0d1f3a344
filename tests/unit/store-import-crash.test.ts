/**
 * Kills a child with SIGKILL in the middle of a streaming import, at random points from the
 * first chunk to the commit, and proves the store then holds either none of the import or all
 * of it (never part), always all of it once the child said the import resolved, and never loses
 * what it held before. Both a writer (which cuts the torn tail) and a reader check it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { openDexieStore } from "../../src/stores/dexie/index.ts";
import { makeEvent } from "../contract/queue-store-contract.ts";

const CHILD = path.resolve(import.meta.dirname, "../helpers/import-child.ts");
const COUNT = 6000;
let dir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-import-crash-"));
  return async () => rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  child = undefined;
});

/** Runs the child; SIGKILLs it once it printed `rows <killAt>` (plus up to 5 ms), or lets it finish. */
function runAndKill(killAt: number | undefined): Promise<{ done: boolean; killed: boolean }> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    let done = false;
    let armed = killAt !== undefined;
    const c = spawn(process.execPath, ["--import", "tsx", CHILD, dir, String(COUNT)], { stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    let stderr = "";
    c.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    c.stdout!.on("data", (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith("done")) done = true;
        const m = /^rows (\d+)$/.exec(line);
        if (armed && m && Number(m[1]) >= killAt!) {
          armed = false;
          setTimeout(() => c.kill("SIGKILL"), Math.random() * 5);
        }
      }
    });
    c.on("close", (code, signal) => {
      if (signal === "SIGKILL") resolve({ done, killed: true });
      else if (code === 0) resolve({ done, killed: false });
      else reject(new Error(`child exited with ${code}: ${stderr}`));
    });
  });
}

async function importedCount(mode: "read" | "write"): Promise<{ imported: number; before: number; warnings: readonly string[] }> {
  const store = await openDexieStore({ dir, mode, command: "import crash test" });
  try {
    const ids = Array.from({ length: COUNT }, (_, n) => `imp-${n}`);
    const found = await store.getMany(ids);
    const before = await store.getMany(["evt-00001", "evt-00002", "evt-00003"]);
    return { imported: found.filter(Boolean).length, before: before.filter(Boolean).length, warnings: store.warnings };
  } finally {
    await store.close();
  }
}

describe("streaming import crash safety", () => {
  it("kill -9 anywhere in an import leaves the store as before or fully imported", async () => {
    const seed = await openDexieStore({ dir, mode: "write", command: "import crash test" });
    await seed.enqueue([makeEvent(1), makeEvent(2), makeEvent(3)]);
    await seed.close();

    let complete = false;
    const kills: { at: number | undefined; imported: number; notes: number }[] = [];
    // kill points spread from the first chunk to the end of the rows (the commit follows them)
    const points = [0, 1000, 3000, COUNT - 250, COUNT, COUNT, undefined, 2000, COUNT];
    for (const killAt of points) {
      const r = await runAndKill(killAt === undefined ? undefined : Math.min(COUNT, killAt + Math.floor(Math.random() * 250)));
      const read = await importedCount("read");
      expect([0, COUNT]).toContain(read.imported);
      if (r.done || complete) expect(read.imported).toBe(COUNT);
      const write = await importedCount("write");
      expect(write.imported).toBe(read.imported);
      expect(write.before).toBe(3);
      expect(read.before).toBe(3);
      // what open may report after a kill: the stale lock, a cut torn tail, ignored uncommitted records
      for (const w of write.warnings) expect(w).toMatch(/stale lock|interrupted by a crash|never committed/);
      if (r.killed) kills.push({ at: killAt, imported: write.imported, notes: write.warnings.length });
      complete = write.imported === COUNT;
    }
    expect(complete).toBe(true);
    // the kills did land before the commit (the store as before) at least once
    expect(kills.some((k) => k.imported === 0)).toBe(true);
  }, 120_000);
});
