/**
 * A --store that names no store: read-only commands refuse it (exit 2, one line naming the path)
 * instead of showing an empty queue, and create nothing; writers create a missing store but refuse
 * a path that is a file. The CLI runs in process (a child start per call made the file slow), the
 * import that creates a store through the real binary.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runInProcess } from "../helpers/cli-in-process.ts";
import { errorLines, fixture, run, tempDirs } from "./queue-run.ts";

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const READERS: { name: string; args: (out: string) => string[] }[] = [
  { name: "queue stats", args: () => ["queue", "stats"] },
  { name: "queue ls", args: () => ["queue", "ls"] },
  { name: "queue show", args: () => ["queue", "show", "evt-001"] },
  { name: "queue export", args: (out) => ["queue", "export", path.join(out, "events.json")] },
  { name: "queue replay --dry-run", args: () => ["queue", "replay", "--dry-run", "--status", "pending"] },
];

describe("read-only commands on a --store that is not a store", () => {
  for (const reader of READERS) {
    it(`${reader.name}: a missing directory, a file and a directory without a queue give exit 2 and one line`, async () => {
      const base = dirs.make();
      const missing = path.join(base, "no-such-store");
      const file = path.join(base, "a-file");
      writeFileSync(file, "not a store\n");
      const plain = path.join(base, "plain-dir");
      mkdirSync(plain);

      for (const [store, says] of [
        [missing, "does not exist"],
        [file, "is a file"],
        [plain, "holds no event queue"],
      ] as const) {
        const r = await runInProcess([...reader.args(base), "--store", store]);
        expect(r.code, r.stderr).toBe(2);
        expect(errorLines(r.stderr)).toEqual([expect.stringMatching(new RegExp(`^mudsync: store ${store} ${says}`))]);
        expect(r.stdout).toBe("");
      }
      // nothing was created: no store directory, no queue directory, no export file
      expect(existsSync(missing)).toBe(false);
      expect(readFileSync(file, "utf8")).toBe("not a store\n");
      expect(readdirSync(plain)).toEqual([]);
      expect(existsSync(path.join(base, "events.json"))).toBe(false);
    });
  }
});

describe("writers", () => {
  it("queue import and queue enqueue create a missing store", async () => {
    const base = dirs.make();
    const imported = path.join(base, "imported");
    const r = await run(["queue", "import", fixture("sample-export.json"), "--store", imported]);
    expect(r.code, r.stderr).toBe(0);
    const stats = await runInProcess(["queue", "stats", "--store", imported]);
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.stdout).toContain("37 events");

    const enqueued = path.join(base, "enqueued", "nested");
    const e = await runInProcess(["queue", "enqueue", "--store", enqueued, "--type", "add", "--entity", "well", "--entity-id", "w1", "--id", "e-1"]);
    expect(e.code, e.stderr).toBe(0);
    const show = await runInProcess(["queue", "show", "e-1", "--store", enqueued]);
    expect(show.code, show.stderr).toBe(0);
  });

  it("refuse a store path that is a file, with one line and exit 2, leaving the file as it was", async () => {
    const base = dirs.make();
    const file = path.join(base, "a-file");
    writeFileSync(file, "not a store\n");
    const cases = [
      ["queue", "import", fixture("sample-export.json"), "--store", file],
      ["queue", "enqueue", "--store", file, "--type", "add", "--entity", "well", "--entity-id", "w1"],
      ["queue", "drain", "--store", file],
      ["queue", "enqueue", "--store", path.join(file, "below"), "--type", "add", "--entity", "well", "--entity-id", "w1"],
    ];
    for (const args of cases) {
      const r = await runInProcess(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(errorLines(r.stderr), args.join(" ")).toEqual([expect.stringMatching(/^mudsync: store .*a-file.* is not a directory/)]);
    }
    expect(readFileSync(file, "utf8")).toBe("not a store\n");
  });
});
