/**
 * The streaming dexie-export reader and writer on their own: rows with index and path, header
 * checks, every malformed-file case giving one InvalidDumpError naming the file and where, the
 * "collect" mode used by --skip-invalid, and writer output in the browser library's exact shape.
 */
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidDumpError, InvalidInputError } from "../../src/errors.ts";
import { DexieExportReader, type ExportItem } from "../../src/io/dexie-export/reader.ts";
import { writeDexieExport } from "../../src/io/dexie-export/writer.ts";

const dir = mkdtempSync(path.join(tmpdir(), "mudsync-dexie-export-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fixture = (name: string) => path.join(import.meta.dirname, "../../fixtures", name);

async function readAll(file: string, mode: "throw" | "collect" = "throw"): Promise<{ items: ExportItem[]; reader: DexieExportReader }> {
  const reader = new DexieExportReader(file, { invalidRows: mode });
  const items: ExportItem[] = [];
  for await (const item of reader.rows()) items.push(item);
  return { items, reader };
}

async function failure(file: string): Promise<InvalidInputError> {
  try {
    await readAll(file);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return err as InvalidInputError;
  }
  throw new Error(`expected ${file} to be refused`);
}

const event = (i: number) => ({
  id: `e${i}`,
  type: "update",
  entity: "well",
  entityId: `w${i}`,
  payload: { n: i },
  timestamp: 1_700_000_000_000 + i,
  status: "pending",
  retryCount: 0,
});

function writeText(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe("DexieExportReader", () => {
  it("streams the sample export row by row with index and JSON path", async () => {
    const { items, reader } = await readAll(fixture("sample-export.json"));
    expect(items.length).toBe(37);
    expect(items.every((i) => i.type === "row" && i.table === "events")).toBe(true);
    expect(items[17]).toMatchObject({ index: 17, path: "data.data[0].rows[17]" });
    expect(reader.summary?.header).toEqual({
      databaseName: "EventQueueDB",
      databaseVersion: 1,
      tables: [{ name: "events", schema: "id,status,timestamp,[status+timestamp]", rowCount: 37 }],
    });
  });

  it("reads the browser-made exports, keeping dexie's $types annotations verbatim", async () => {
    const { items } = await readAll(fixture("browser-export.json"));
    expect(items.length).toBe(4600);
    const typed = items.find((i) => i.type === "row" && "$types" in i.value);
    expect(typed).toBeDefined();
    const cache = await readAll(fixture("browser-cache-export.json"));
    expect(cache.items.every((i) => i.type === "row" && i.table === "cache")).toBe(true);
  });

  it.each([
    ["malformed/not-json.json", /^.*not-json\.json at line 1, column \d+: not valid JSON.*expected a dexie-export-import JSON export$/],
    ["malformed/truncated.json", /truncated\.json at byte \d+: the file ends early inside data\.data\[0\]\.rows.*truncated/],
    ["malformed/wrong-format-name.json", /at formatName: expected formatName "dexie".*got "dexie-backup"/],
    ["malformed/wrong-table.json", /at data\.tables\[0\]\.name: expected table "events" in EventQueueDB, got "queue"/],
    ["malformed/wrong-database.json", /at data\.databaseName: expected databaseName "EventQueueDB".*got "OfflineDB"/],
    ["malformed/bad-row.json", /at data\.data\[0\]\.rows\[3\]\.status: .*expected an event \{id, type/],
  ])("refuses %s with one line naming the file and where", async (name, pattern) => {
    const err = await failure(fixture(name));
    expect(err).toBeInstanceOf(InvalidDumpError);
    expect(err.message).toMatch(pattern);
    expect(err.message).not.toContain("\n");
    expect(err.exitCode).toBe(2);
  });

  it("refuses a missing file, an empty file, and a top-level array", async () => {
    expect((await failure(path.join(dir, "nope.json"))).message).toMatch(/nope\.json: no such file/);
    expect((await failure(writeText("empty.json", ""))).message).toMatch(/the file is empty/);
    expect((await failure(writeText("array.json", "[1,2]"))).message).toMatch(/at \(root\): expected a dexie-export-import export object .*, found an array$/);
    expect((await failure(writeText("trailing.json", `${readFileSync(fixture("sample-cache-export.json"), "utf8")} {}`))).message).toMatch(
      /not valid JSON/,
    );
  });

  it("refuses keys named like Object.prototype's members as unknown, with one error naming the file", async () => {
    for (const key of ["toString", "constructor", "hasOwnProperty"]) {
      const err = await failure(writeText(`proto-${key}.json`, `{"${key}":6,"__proto__":"x"}`));
      expect(err.message).toContain(`proto-${key}.json`);
    }
  });

  it("refuses a table in the wrong database and rows before tableName", async () => {
    const wrong = `{"formatName":"dexie","formatVersion":1,"data":{"databaseName":"CacheDB","databaseVersion":1,"tables":[],"data":[{"tableName":"events","inbound":true,"rows":[]}]}}`;
    expect((await failure(writeText("wrongdb.json", wrong))).message).toMatch(
      /at data\.data\[0\]\.tableName: expected table "cache" in CacheDB, got "events"/,
    );
    const early = `{"formatName":"dexie","formatVersion":1,"data":{"databaseName":"EventQueueDB","databaseVersion":1,"tables":[],"data":[{"rows":[],"tableName":"events"}]}}`;
    expect((await failure(writeText("early.json", early))).message).toMatch(/at data\.data\[0\]\.rows: expected tableName before rows/);
  });

  it("collects invalid rows with reasons instead of throwing in collect mode", async () => {
    const { items } = await readAll(fixture("malformed/some-invalid-rows.json"), "collect");
    const invalid = items.filter((i) => i.type === "invalid");
    expect(items.filter((i) => i.type === "row").length).toBe(4);
    expect(invalid).toEqual([
      expect.objectContaining({ index: 2, path: "data.data[0].rows[2].payload", id: "evt-003" }),
      expect.objectContaining({ index: 4, path: "data.data[0].rows[4].type", id: "evt-x" }),
    ]);
  });

  it("still refuses structural damage in collect mode", async () => {
    await expect(readAll(fixture("malformed/truncated.json"), "collect")).rejects.toThrow(/ends early/);
  });
});

describe("writeDexieExport", () => {
  it("writes what dexie-export-import writes, and reads back the same rows", async () => {
    const file = path.join(dir, "out.json");
    const rows = [event(1), event(2), event(3)];
    const r = await writeDexieExport(file, { databaseName: "EventQueueDB", databaseVersion: 1 }, [[rows[0]], [], [rows[1], rows[2]]]);
    expect(r.rows).toBe(3);
    const text = readFileSync(file, "utf8");
    expect(r.bytes).toBe(Buffer.byteLength(text));
    expect(text).toBe(
      `{"formatName":"dexie","formatVersion":1,"data":{"databaseName":"EventQueueDB","databaseVersion":1,"tables":[{"name":"events","schema":"id,status,timestamp,[status+timestamp]","rowCount":3}],"data":[{"tableName":"events","inbound":true,"rows":[${rows.map((x) => JSON.stringify(x)).join(",")}]}]}}`,
    );
    const { items } = await readAll(file);
    expect(items.map((i) => (i.type === "row" ? i.value : null))).toEqual(rows);
  });

  it("rewrites the sample and browser exports byte for byte", async () => {
    for (const name of ["sample-export.json", "browser-export.json", "browser-cache-export.json"]) {
      const { items, reader } = await readAll(fixture(name));
      const out = path.join(dir, `copy-${name}`);
      const header = reader.summary!.header;
      await writeDexieExport(out, header, [items.map((i) => (i.type === "row" ? i.value : null))]);
      expect(readFileSync(out, "utf8")).toBe(readFileSync(fixture(name), "utf8"));
    }
  });

  it("leaves no partial file when the rows fail midway", async () => {
    const file = path.join(dir, "partial.json");
    async function* broken() {
      yield [event(1)];
      throw new Error("scan failed");
    }
    await expect(writeDexieExport(file, { databaseName: "EventQueueDB", databaseVersion: 1 }, broken())).rejects.toThrow("scan failed");
    const { readdirSync } = await import("node:fs");
    expect(readdirSync(dir).filter((f) => f.startsWith("partial"))).toEqual([]);
  });
});
