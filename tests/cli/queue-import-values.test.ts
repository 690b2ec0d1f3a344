/**
 * Values and files that passed the first checks but broke later, through the CLI (in process; the
 * 10,000-deep import into an empty store through the real binary and its stack): a
 * payload nested thousands deep (a stack overflow when stored), strings PostgreSQL cannot store
 * (NUL, unpaired surrogates: every batch holding them failed), duplicate ids inside one export
 * (silently merged), and a file holding a lone `null` or number (reported as empty). Each is now
 * one line naming the file and the path, exit 2, and the store unchanged.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_NESTING_DEPTH } from "../../src/core/value-limits.ts";
import { runInProcess } from "../helpers/cli-in-process.ts";
import { errorLines, run, tempDirs } from "./queue-run.ts";

const temp = tempDirs();
afterAll(() => temp.cleanup());
let dir: string;
beforeAll(() => {
  dir = temp.make();
});

/** A payload whose innermost object sits `levels` objects deep (the payload itself is level 1). */
const nested = (levels: number): string => `${'{"a":'.repeat(levels - 1)}{"leaf":1}${"}".repeat(levels - 1)}`;

/** `id` is JSON string content (escapes as written in JSON), `payload` JSON text. */
const eventJson = (id: string, payload: string, i = 0) =>
  `{"id":"${id}","type":"add","entity":"well","entityId":"w${i}","payload":${payload},"timestamp":${1_700_000_000_000 + i},"status":"pending","retryCount":0}`;

function exportFile(name: string, rows: string[]): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    `{"formatName":"dexie","formatVersion":1,"data":{"databaseName":"EventQueueDB","databaseVersion":1,"tables":[{"name":"events","schema":"id,status,timestamp,[status+timestamp]","rowCount":${rows.length}}],"data":[{"tableName":"events","inbound":true,"rows":[${rows.join(",")}]}]}}`,
  );
  return file;
}

async function storedIds(store: string): Promise<string[]> {
  const r = await runInProcess(["--json", "queue", "ls", "--store", store, "--limit", "1000"]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { events: { id: string }[] }).events.map((e) => e.id).sort();
}

/** A store holding one event, `kept-1`. */
async function seededStore(): Promise<string> {
  const store = path.join(temp.make(), "store");
  const r = await runInProcess(["queue", "import", exportFile(`seed-${path.basename(path.dirname(store))}.json`, [eventJson("kept-1", "{}")]), "--store", store]);
  expect(r.code, r.stderr).toBe(0);
  return store;
}

function expectOneLine(r: { code: number | null; stderr: string; stdout: string }, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = errorLines(r.stderr);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(lines[0]).not.toMatch(/unexpected error|RangeError|    at /);
}

describe("nesting depth", () => {
  it("import and enqueue refuse a payload nested 10,000 deep with one line naming where (exit 2), storing nothing", async () => {
    const store = await seededStore();
    const file = exportFile("deep.json", [eventJson("ok-1", "{}"), eventJson("deep-1", nested(10_000), 1)]);
    const imp = await runInProcess(["queue", "import", file, "--store", store]);
    expectOneLine(imp, /deep\.json at data\.data\[0\]\.rows\[1\]\.payload: objects and arrays nest more than 1000 levels deep/);

    const enq = await runInProcess(["queue", "enqueue", "-", "--store", store], { input: `${eventJson("deep-2", nested(10_000))}\n` });
    expectOneLine(enq, /^mudsync: stdin line 1: payload: objects and arrays nest more than 1000 levels deep/);
    expect(await storedIds(store)).toEqual(["kept-1"]);

    // into an empty store too (the streaming import's own path), through the real binary and its stack
    const empty = path.join(temp.make(), "store");
    expectOneLine(await run(["queue", "import", file, "--store", empty]), /deep\.json at data\.data\[0\]\.rows\[1\]\.payload: /);
  });

  it(`a payload nested exactly ${MAX_NESTING_DEPTH} deep imports and enqueues; one level more is refused`, async () => {
    const store = await seededStore();
    const imp = await runInProcess(["queue", "import", exportFile("at-limit.json", [eventJson("limit-1", nested(MAX_NESTING_DEPTH))]), "--store", store]);
    expect(imp.code, imp.stderr).toBe(0);
    const enq = await runInProcess(["queue", "enqueue", "-", "--store", store], { input: `${eventJson("limit-2", nested(MAX_NESTING_DEPTH), 2)}\n` });
    expect(enq.code, enq.stderr).toBe(0);
    const over = await runInProcess(["queue", "import", exportFile("over-limit.json", [eventJson("over-1", nested(MAX_NESTING_DEPTH + 1))]), "--store", store]);
    expectOneLine(over, /over-limit\.json at data\.data\[0\]\.rows\[0\]\.payload: objects and arrays nest more than 1000/);
    expect(await storedIds(store)).toEqual(["kept-1", "limit-1", "limit-2"]);
  });
});

describe("strings PostgreSQL cannot store", () => {
  const bad: [string, string, string][] = [
    // [label, payload JSON, the path and reason expected in the message (a regexp source)]
    ["a NUL in a value", '{"name":"a\\u0000b"}', String.raw`payload\.name: contains a NUL character`],
    ["a NUL in a key", '{"na\\u0000me":"x"}', String.raw`payload\["na\\u0000me"\]: the key contains a NUL character`],
    ["a lone high surrogate in a value", '{"list":["ok","x\\ud800"]}', String.raw`payload\.list\[1\]: contains an unpaired UTF-16 surrogate \(\\ud800`],
    ["a lone low surrogate in a key", '{"\\udc00k":1}', String.raw`payload\["\\udc00k"\]: the key contains an unpaired UTF-16 surrogate`],
  ];
  const rows = [...bad.map(([, payload], i) => eventJson(`s-${i}`, payload, i)), eventJson("emoji-1", '{"name":"\\ud83d\\ude00"}', 9)];

  it("import refuses the first with one line naming its path (exit 2); --skip-invalid lists each, keeping a surrogate pair", async () => {
    const store = await seededStore();
    const file = exportFile("strings.json", rows);
    expectOneLine(await runInProcess(["queue", "import", file, "--store", store]), new RegExp(String.raw`strings\.json at data\.data\[0\]\.rows\[0\]\.${bad[0]![2]}`));
    expect(await storedIds(store)).toEqual(["kept-1"]);

    const r = await runInProcess(["--json", "queue", "import", file, "--skip-invalid", "--store", store]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { invalid: { rows: { path: string; reason: string }[] } };
    expect(out.invalid.rows).toHaveLength(bad.length);
    out.invalid.rows.forEach((row, i) => expect(`${row.path}: ${row.reason}`).toMatch(new RegExp(String.raw`^data\.data\[0\]\.rows\[${i}\]\.${bad[i]![2]}`)));
    expect(await storedIds(store)).toEqual(["emoji-1", "kept-1"]);
  });

  it.each([[...bad[0]!, "s-x"], [...bad[3]!, "s-x"], ["a NUL in the id", "{}", String.raw`id: contains a NUL character`, "id\\u0000x"]])(
    "enqueue refuses %s naming its path (exit 2)",
    async (_label, payload, pattern, id) => {
      const store = path.join(temp.make(), "store");
      const r = await runInProcess(["queue", "enqueue", "-", "--store", store], { input: `${eventJson("ok-1", "{}")}\n${eventJson(id, payload, 1)}\n` });
      expectOneLine(r, new RegExp(`stdin line 2: ${pattern}`));
      expect(await storedIds(store)).toEqual(["ok-1"]);
    },
  );
});

describe("duplicate ids inside one import file", () => {
  const rows = Array.from({ length: 100 }, (_, i) => eventJson("same-id", `{"i":${i}}`, i));

  it("refuses the file naming the id and the rows (exit 2), storing nothing", async () => {
    const store = await seededStore();
    const r = await runInProcess(["queue", "import", exportFile("dups.json", rows), "--store", store]);
    expectOneLine(r, /dups\.json at data\.data\[0\]\.rows\[1\]\.id: duplicate id "same-id": data\.data\[0\]\.rows\[0\] has the same id/);
    expect(await storedIds(store)).toEqual(["kept-1"]);
  });

  it("with --skip-invalid imports the first and lists every duplicate; ids stored before stay 'already present'", async () => {
    const store = await seededStore();
    const file = exportFile("dups-and-kept.json", [...rows, eventJson("kept-1", '{"again":true}', 200)]);
    const r = await runInProcess(["--json", "queue", "import", file, "--skip-invalid", "--store", store]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { events: { inserted: number; existing: number }; invalid: { count: number; rows: { path: string; reason: string; id?: string }[] } };
    expect(out.events).toMatchObject({ inserted: 1, existing: 1 });
    expect(out.invalid.count).toBe(99);
    expect(out.invalid.rows.map((x) => x.path)).toEqual(Array.from({ length: 99 }, (_, i) => `data.data[0].rows[${i + 1}].id`));
    expect(out.invalid.rows.every((x) => x.id === "same-id" && /duplicate id "same-id": data\.data\[0\]\.rows\[0\] has the same id/.test(x.reason))).toBe(true);
    expect(await storedIds(store)).toEqual(["kept-1", "same-id"]);
    const text = await runInProcess(["queue", "import", file, "--skip-invalid", "--store", store]);
    expect(text.stdout).toContain("skipped 99 invalid rows:");
    expect(text.stdout).toMatch(/events: 0 inserted, 2 already present/);
  });
});

describe("a file holding one JSON value that is not an object", () => {
  it.each([
    ["null", "null"],
    ["42", "42"],
    ['"x"', '"x"'],
    ["true", "true"],
  ])("%s (no trailing newline) is named, not called empty", async (text, shown) => {
    const file = path.join(dir, `scalar-${text.replace(/\W/g, "")}.json`);
    writeFileSync(file, text);
    const r = await runInProcess(["queue", "import", file, "--store", path.join(temp.make(), "store")]);
    expectOneLine(r, new RegExp(`at \\(root\\): expected a dexie-export-import export object .*, found ${shown.replace(/"/g, '\\"')}$`));
  });

  it("an empty or blank file is still 'empty'", async () => {
    const file = path.join(dir, "blank.json");
    writeFileSync(file, " \n");
    expectOneLine(await runInProcess(["queue", "import", file, "--store", path.join(temp.make(), "store")]), /the file is empty/);
  });
});
