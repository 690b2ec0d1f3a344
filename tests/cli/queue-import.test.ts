/**
 * `queue import` / `queue export` end to end through the real binary: import of the hand-made and
 * browser-made exports, idempotent re-import, --replace, --skip-invalid, progress lines, and
 * export files that are byte-identical to what was imported (events and cache).
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { errorLines, fixture, run, tempDirs } from "./queue-run.ts";

const temp = tempDirs();
afterAll(() => temp.cleanup());

describe("queue import / export", () => {
  it("imports the sample, is idempotent on re-import, and exports the same bytes", async () => {
    const dir = temp.make();
    const store = path.join(dir, "store");
    const first = await run(["queue", "import", fixture("sample-export.json"), "--store", store, "--json"]);
    expect(first.code, first.stderr).toBe(0);
    const r1 = JSON.parse(first.stdout);
    expect(r1.events).toEqual({ inserted: 37, existing: 0, replaced: 0 });
    expect(r1.files).toEqual([expect.objectContaining({ databaseName: "EventQueueDB", rows: 37, invalid: 0 })]);
    // progress goes to stderr as NDJSON, nothing else there
    const progress = first.stderr.trim().split("\n").map((l) => JSON.parse(l));
    expect(progress.every((p) => p.progress === true)).toBe(true);
    expect(progress.at(-1)).toMatchObject({ phase: "import", done: 37, total: 37, final: true });

    const again = await run(["queue", "import", fixture("sample-export.json"), "--store", store, "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).events).toEqual({ inserted: 0, existing: 37, replaced: 0 });

    const out = path.join(dir, "out.json");
    const exp = await run(["queue", "export", out, "--store", store, "--json"]);
    expect(exp.code, exp.stderr).toBe(0);
    expect(JSON.parse(exp.stdout).events).toMatchObject({ rows: 37 });
    expect(readFileSync(out, "utf8")).toBe(readFileSync(fixture("sample-export.json"), "utf8"));

    const human = await run(["queue", "import", fixture("sample-export.json"), "--store", store]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("events: 0 inserted, 37 already present");
  });

  it("round-trips the browser-made queue and cache exports byte for byte", async () => {
    const dir = temp.make();
    const store = path.join(dir, "store");
    const imp = await run([
      "queue", "import", fixture("browser-export.json"), fixture("browser-cache-export.json"), "--store", store, "--json",
    ]);
    expect(imp.code, imp.stderr).toBe(0);
    const r = JSON.parse(imp.stdout);
    expect(r.events.inserted).toBe(4600);
    expect(r.cache.inserted).toBe(11);
    const events = path.join(dir, "events.json");
    const cache = path.join(dir, "cache.json");
    const exp = await run(["queue", "export", events, "--cache", cache, "--store", store, "--json"]);
    expect(exp.code, exp.stderr).toBe(0);
    expect(readFileSync(events, "utf8")).toBe(readFileSync(fixture("browser-export.json"), "utf8"));
    expect(readFileSync(cache, "utf8")).toBe(readFileSync(fixture("browser-cache-export.json"), "utf8"));
  });

  it("keeps stored events on re-import unless --replace is given", async () => {
    const dir = temp.make();
    const store = path.join(dir, "store");
    expect((await run(["queue", "import", fixture("sample-export.json"), "--store", store])).code).toBe(0);
    const changed = JSON.parse(readFileSync(fixture("sample-export.json"), "utf8"));
    changed.data.data[0].rows[0].status = "failed";
    changed.data.data[0].rows[0].retryCount = 7;
    const file = path.join(dir, "changed.json");
    writeFileSync(file, JSON.stringify(changed));

    const keep = await run(["queue", "import", file, "--store", store, "--json"]);
    expect(JSON.parse(keep.stdout).events).toEqual({ inserted: 0, existing: 37, replaced: 0 });
    let shown = JSON.parse((await run(["queue", "show", "evt-001", "--store", store, "--json"])).stdout);
    expect(shown.event.status).toBe("completed");

    const replace = await run(["queue", "import", file, "--replace", "--store", store, "--json"]);
    expect(replace.code, replace.stderr).toBe(0);
    expect(JSON.parse(replace.stdout).events).toEqual({ inserted: 0, existing: 0, replaced: 37 });
    shown = JSON.parse((await run(["queue", "show", "evt-001", "--store", store, "--json"])).stdout);
    expect(shown.event).toMatchObject({ status: "failed", retryCount: 7 });
  });

  it("imports the valid rows with --skip-invalid and reports the others with reasons", async () => {
    const dir = temp.make();
    const store = path.join(dir, "store");
    const file = fixture("malformed/some-invalid-rows.json");
    const r = await run(["queue", "import", file, "--skip-invalid", "--store", store, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.events.inserted).toBe(4);
    expect(result.invalid.count).toBe(2);
    expect(result.invalid.rows.every((r: object) => !("type" in r))).toBe(true);
    expect(result.invalid.rows).toEqual([
      expect.objectContaining({ file, index: 2, id: "evt-003", path: "data.data[0].rows[2].payload", reason: "Invalid input: expected record, received string", table: "events" }),
      expect.objectContaining({ file, index: 4, id: "evt-x", path: "data.data[0].rows[4].type", reason: expect.stringMatching(/^Invalid option: expected one of "add"/) }),
    ]);
    const ls = JSON.parse((await run(["queue", "ls", "--store", store, "--json"])).stdout);
    expect(ls.events.map((e: { id: string }) => e.id).sort()).toEqual(["evt-001", "evt-002", "evt-004", "evt-005"]);

    const human = await run(["queue", "import", file, "--skip-invalid", "--store", store]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/skipped 2 invalid rows:\n {2}.*some-invalid-rows\.json at data\.data\[0\]\.rows\[2\]\.payload: /);
    expect(errorLines(human.stderr)).toEqual([]);
  });
});
