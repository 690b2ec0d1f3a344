/**
 * Reading record files with kinds skipped (readLog's `skip`, readSnapshot's absent visitors): the
 * skipped records are not handed out, every other record is, at the same offset; a skipped line is
 * still checked, so damage in it is found as anywhere else; a line that does not open as
 * encodeRecord writes its kind is decoded and handed out whatever its kind.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreCorruptError } from "../../src/errors.ts";
import { crc32Hex } from "../../src/stores/dexie/log/crc32.ts";
import { encodeRecord, type LogRecord } from "../../src/stores/dexie/log/log-record.ts";
import { readLog } from "../../src/stores/dexie/log/log-reader.ts";
import { readSnapshot } from "../../src/stores/dexie/log/snapshot-reader.ts";
import { SnapshotWriter } from "../../src/stores/dexie/log/generation-files.ts";
import { makeEvent } from "../helpers/fakes.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-log-reader-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hist = (id: string, tx?: string): LogRecord => ({ k: "hist", rows: [{ eventId: id, at: 1, from: "pending", to: "processing" }], ...(tx ? { tx } : {}) });
const RECORDS: LogRecord[] = [
  { k: "ev", rows: [makeEvent({ id: "a" })] },
  hist("a"),
  { k: "lease", ids: ["a"], owner: "w", until: 5, at: 1 },
  hist("b", "t1"),
  { k: "ev", rows: [makeEvent({ id: "b" })], tx: "t1" },
  { k: "commit", tx: "t1" },
  { k: "cachedel", keys: ["x"] },
  hist("c"),
];

async function logFile(records: LogRecord[]): Promise<{ file: string; offsets: number[] }> {
  const lines = records.map(encodeRecord);
  const offsets: number[] = [];
  let at = 0;
  for (const l of lines) {
    offsets.push(at);
    at += l.length;
  }
  const file = path.join(dir, "wal.log");
  await writeFile(file, Buffer.concat(lines));
  return { file, offsets };
}

async function read(file: string, skip?: LogRecord["k"][]): Promise<{ records: { k: string; offset: number }[]; tornAt?: number }> {
  const records: { k: string; offset: number }[] = [];
  const r = await readLog(file, (record, offset) => void records.push({ k: record.k, offset }), skip ? { skip } : {});
  return { records, ...(r.tornAt !== undefined ? { tornAt: r.tornAt } : {}) };
}

const flip = (buf: Buffer, at: number) => buf.writeUInt8(buf.readUInt8(at) ^ 0x01, at);

/** A checksummed line of arbitrary JSON text (as encodeRecord frames it). */
function frame(json: string): Buffer {
  const body = Buffer.from(json, "utf8");
  return Buffer.concat([Buffer.from(`${crc32Hex(body)} `, "latin1"), body, Buffer.from("\n")]);
}

describe("reading record files with kinds skipped", () => {
  it("hands out every record of the other kinds, at the offsets a full read gives, and none of the skipped", async () => {
    const { file, offsets } = await logFile(RECORDS);
    const all = await read(file);
    expect(all.records).toEqual(RECORDS.map((r, i) => ({ k: r.k, offset: offsets[i] })));
    const some = await read(file, ["hist", "cachedel"]);
    expect(some.records).toEqual(all.records.filter((r) => r.k !== "hist" && r.k !== "cachedel"));
    expect((await read(file, ["ev"])).records.map((r) => r.k)).toEqual(["hist", "lease", "hist", "commit", "cachedel", "hist"]);
  });

  it("still checks a skipped line: damage in it, in the middle, is corruption; at the end, a torn tail", async () => {
    const { file, offsets } = await logFile(RECORDS);
    const bytes = await readFile(file);
    const middle = Buffer.from(bytes);
    flip(middle, offsets[3]! + 40); // inside the second hist line's rows, past its kind
    await writeFile(file, middle);
    await expect(read(file, ["hist"])).rejects.toThrow(StoreCorruptError);
    await expect(read(file, ["hist"])).rejects.toThrow(`checksum mismatch at byte offset ${offsets[3]}, followed by intact records`);

    const tail = Buffer.from(bytes);
    flip(tail, offsets[7]! + 40); // in the rows of the last line, a hist record
    await writeFile(file, tail);
    const r = await read(file, ["hist"]);
    expect(r.tornAt).toBe(offsets[7]);
    expect(r.records.map((x) => x.k)).toEqual(["ev", "lease", "ev", "commit", "cachedel"]);
  });

  it("decodes a line that does not open with its kind, and hands it out even if its kind is skipped", async () => {
    const file = path.join(dir, "wal.log");
    const odd = frame(JSON.stringify({ rows: [{ eventId: "z", at: 1, to: "completed" }], k: "hist" }));
    await writeFile(file, Buffer.concat([encodeRecord(hist("a")), odd, encodeRecord({ k: "commit", tx: "t" })]));
    expect((await read(file, ["hist"])).records.map((r) => r.k)).toEqual(["hist", "commit"]);
  });

  it("reads a snapshot's history alone, not counting the event rows it skipped, yet finds damage in them", async () => {
    const w = await SnapshotWriter.open(dir, 1, 3);
    await w.put({ k: "ev", rows: [makeEvent({ id: "a" }), makeEvent({ id: "b" }), makeEvent({ id: "c" })] });
    await w.put(hist("a"));
    await w.put({ k: "cache", rows: [{ key: "k", data: 1, timestamp: 1, ttl: 10, version: 1 }] });
    const { tmp } = await w.finish();
    const limits = { maxEvents: 10, dir };
    const seen: string[] = [];
    await readSnapshot(tmp, limits, { history: (rows) => void seen.push(...rows.map((h) => h.eventId)) });
    expect(seen).toEqual(["a"]);
    let events = 0;
    await readSnapshot(tmp, limits, { events: (rows) => void (events += rows.length) });
    expect(events).toBe(3);

    const bytes = await readFile(tmp);
    const evLine = bytes.indexOf(Buffer.from('{"k":"ev",'));
    flip(bytes, evLine + 30);
    await writeFile(tmp, bytes);
    await expect(readSnapshot(tmp, limits, { history: () => undefined })).rejects.toThrow(/checksum mismatch/);
  });
});

describe("encodeRecord", () => {
  it("writes the bytes of JSON.stringify(record) under their checksum, whatever the number of rows", () => {
    for (const n of [0, 1, 63, 64, 65, 200]) {
      const rows = Array.from({ length: n }, (_, i) => makeEvent({ id: `e${i}`, payload: { name: `Ölfeld – ${i} 🛢`, depth: i / 3 } }));
      for (const record of [{ k: "ev", rows }, { k: "ev", rows, tx: "t1" }] as LogRecord[]) {
        const json = Buffer.from(JSON.stringify(record), "utf8");
        const line = encodeRecord(record);
        expect(line.subarray(9, -1).equals(json)).toBe(true);
        expect(line.toString("latin1", 0, 9)).toBe(`${crc32Hex(json)} `);
        expect(line.at(-1)).toBe(0x0a);
      }
    }
    const lease: LogRecord = { k: "lease", ids: ["a"], owner: "w", until: 5 };
    expect(encodeRecord(lease).subarray(9, -1).toString("utf8")).toBe(JSON.stringify(lease));
  });
});
