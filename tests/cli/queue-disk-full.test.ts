/**
 * A full disk under `queue enqueue` and `queue import`, through the real binary: writes to the
 * store's log fail with ENOSPC once a byte budget is spent (tests/helpers/fail-writes.mjs, loaded
 * with --import; the write that crosses the budget writes what fits, leaving part of a line).
 * Each command says so in one line and exits 5; every acknowledged event is kept, nothing of a
 * failed import counts, and the next writer gives the failed import's space back, so later opens
 * have nothing to warn about.
 */
import { statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { errorLines, ROOT, run, tempDirs } from "./queue-run.ts";

const temp = tempDirs();
afterAll(() => temp.cleanup());

const HOOK = path.join(ROOT, "tests/helpers/fail-writes.mjs");
const fullDisk = (afterBytes: number): NodeJS.ProcessEnv => ({
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${HOOK}`.trim(),
  MUDSYNC_FAIL_WRITES_MATCH: String.raw`/queue/wal-\d+\.log$`,
  MUDSYNC_FAIL_WRITES_AFTER: String(afterBytes),
});

const event = (id: string, i: number) => ({ id, type: "add", entity: "well", entityId: `w${i}`, payload: { i, pad: "x".repeat(40) } });

async function storedIds(store: string): Promise<{ ids: string[]; stderr: string }> {
  const r = await run(["--json", "queue", "ls", "--store", store, "--limit", "10000"]);
  expect(r.code, r.stderr).toBe(0);
  return { ids: (JSON.parse(r.stdout) as { events: { id: string }[] }).events.map((e) => e.id).sort(), stderr: r.stderr };
}

describe.runIf(process.platform === "linux")("a full disk", () => {
  it("queue enqueue: one line, exit 5; every acknowledged event is kept and the store opens cleanly", async () => {
    const store = path.join(temp.make(), "store");
    expect((await run(["queue", "enqueue", "-", "--store", store], { input: `${JSON.stringify(event("before-1", 0))}\n` })).code).toBe(0);
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify(event(`e-${i}`, i))).join("\n");
    const r = await run(["--json", "queue", "enqueue", "-", "--store", store], { input: `${lines}\n`, env: fullDisk(40_000) });
    expect(r.code, r.stderr).toBe(5);
    // --json: the error is one JSON object on stderr
    expect(errorLines(r.stderr).map((l) => JSON.parse(l))).toEqual([
      {
        error: expect.objectContaining({
          exit: 5,
          message: expect.stringMatching(/^cannot write store file .*queue\/wal-000000\.log: no space left on the device \(ENOSPC\); what was acknowledged before is kept/),
        }),
      },
    ]);
    const acked = r.stdout.split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
    expect(acked.length).toBeLessThan(3000);

    const after = await storedIds(store);
    for (const id of ["before-1", ...acked]) expect(after.ids).toContain(id);
    // a writer cuts the torn line the failed write left; then nothing is left to warn about
    const w = await run(["queue", "enqueue", "-", "--store", store], { input: `${JSON.stringify(event("after-1", 9999))}\n` });
    expect(w.code, w.stderr).toBe(0);
    expect((await storedIds(store)).stderr).toBe("");
  });

  it("queue import: one line, exit 5, nothing imported; the next writer reclaims the import's bytes", async () => {
    const dir = temp.make();
    const store = path.join(dir, "store");
    const wal = path.join(store, "queue/wal-000000.log");
    expect((await run(["queue", "enqueue", "-", "--store", store], { input: `${JSON.stringify(event("before-1", 0))}\n` })).code).toBe(0);
    const walBefore = statSync(wal).size;
    const rows = Array.from({ length: 4000 }, (_, i) => JSON.stringify({ ...event(`imp-${i}`, i), timestamp: 1_700_000_000_000 + i, status: "pending", retryCount: 0 }));
    const file = path.join(dir, "big.json");
    writeFileSync(
      file,
      `{"formatName":"dexie","formatVersion":1,"data":{"databaseName":"EventQueueDB","databaseVersion":1,"tables":[{"name":"events","schema":"id,status,timestamp,[status+timestamp]","rowCount":${rows.length}}],"data":[{"tableName":"events","inbound":true,"rows":[${rows.join(",")}]}]}}`,
    );

    const r = await run(["queue", "import", file, "--store", store], { env: fullDisk(200_000) });
    expect(r.code, r.stderr).toBe(5);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^mudsync: cannot write store file .*wal-000000\.log: no space left on the device \(ENOSPC\); nothing was imported/)]);
    expect(statSync(wal).size).toBeGreaterThan(walBefore + 100_000);

    // a reader sees the store as before (and says what it ignores)
    const read = await storedIds(store);
    expect(read.ids).toEqual(["before-1"]);
    expect(read.stderr).toMatch(/never committed/);

    // the next writer cuts the import's records off the log's end
    const w = await run(["queue", "enqueue", "-", "--store", store], { input: `${JSON.stringify(event("after-1", 9999))}\n` });
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toMatch(/reclaimed \d+ bytes at the end of .*wal-000000\.log: \d+ log records of an atomic write that never committed/);
    expect(statSync(wal).size).toBeLessThan(walBefore * 3);
    const final = await storedIds(store);
    expect(final.ids).toEqual(["after-1", "before-1"]);
    expect(final.stderr).toBe("");

    // and the import, run again with room, goes through
    const again = await run(["queue", "import", file, "--store", store]);
    expect(again.code, again.stderr).toBe(0);
    expect((await storedIds(store)).ids).toHaveLength(4002);
  });
});
