/**
 * Malformed exports given to `queue import`: each gives exit 2, exactly one clear stderr line naming
 * the file, where in it and what was expected, and leaves the store exactly as it was (compared
 * through `queue export` before and after). The sample store is imported by the real binary; the
 * rest runs in process (a child start per call made the file slow).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../helpers/cli-in-process.ts";
import { errorLines, fixture, run, tempDirs } from "./queue-run.ts";

const temp = tempDirs();
let dir: string;
let store: string;
let before: string;

async function exportStore(name: string): Promise<string> {
  const out = path.join(dir, name);
  const r = await runInProcess(["queue", "export", out, "--store", store]);
  expect(r.code, r.stderr).toBe(0);
  return readFileSync(out, "utf8");
}

beforeAll(async () => {
  dir = temp.make();
  store = path.join(dir, "store");
  const r = await run(["queue", "import", fixture("sample-export.json"), "--store", store]);
  expect(r.code, r.stderr).toBe(0);
  before = await exportStore("before.json");
});
afterAll(() => temp.cleanup());

describe("queue import of malformed files", () => {
  it.each([
    ["not-json.json", /not-json\.json at line 1, column \d+: not valid JSON .*expected a dexie-export-import JSON export$/],
    ["truncated.json", /truncated\.json at byte \d+: the file ends early inside data\.data\[0\]\.rows.*\(truncated\?\)/],
    ["wrong-format-name.json", /wrong-format-name\.json at formatName: expected formatName "dexie" \(a dexie-export-import export\), got "dexie-backup"$/],
    ["wrong-table.json", /wrong-table\.json at data\.tables\[0\]\.name: expected table "events" in EventQueueDB, got "queue"$/],
    ["wrong-database.json", /wrong-database\.json at data\.databaseName: expected databaseName "EventQueueDB" \(or "CacheDB" for the cache\), got "OfflineDB"$/],
    ["bad-row.json", /bad-row\.json at data\.data\[0\]\.rows\[3\]\.status: .*; expected an event \{id, type: add\|remove\|update/],
    ["some-invalid-rows.json", /some-invalid-rows\.json at data\.data\[0\]\.rows\[2\]\.payload: /],
  ])("%s: exit 2, one line, store unchanged", async (name, pattern) => {
    const r = await runInProcess(["queue", "import", fixture(`malformed/${name}`), "--store", store]);
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mudsync: /);
    expect(lines[0]).toMatch(pattern);
    expect(r.stdout).toBe("");
    expect(await exportStore(`after-${name}`)).toBe(before);
  });

  it("a bad second file keeps the good first file from being imported", async () => {
    const r = await runInProcess([
      "queue", "import", fixture("sample-cache-export.json"), fixture("malformed/bad-row.json"), "--store", store, "--json",
    ]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toHaveLength(1);
    expect(await exportStore("after-two.json")).toBe(before);
    const cache = path.join(dir, "cache.json");
    expect((await runInProcess(["queue", "export", path.join(dir, "e.json"), "--cache", cache, "--store", store])).code).toBe(0);
    expect(JSON.parse(readFileSync(cache, "utf8")).data.tables[0].rowCount).toBe(0);
  });

  it("a missing file is exit 2 with one line", async () => {
    const r = await runInProcess(["queue", "import", path.join(dir, "nope.json"), "--store", store]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/nope\.json: no such file$/)]);
  });
});
