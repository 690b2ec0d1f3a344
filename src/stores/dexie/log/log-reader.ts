/**
 * Reads a file of checksummed record lines (write-ahead log or snapshot) in chunks, handing each
 * record and its byte offset to a callback. A bad line that only damaged lines follow is a torn
 * tail (a crash in the middle of a write) and is reported as `tornAt`; a bad line followed by a
 * good one is damage in the middle of the file and throws StoreCorruptError naming the offset.
 */
import { open } from "node:fs/promises";
import { StoreCorruptError, StoreKeyError } from "../../../errors.ts";
import { AlteredRecordError, isSealedKind, type RecordCipher, type SealableRecord } from "../crypto/record-cipher.ts";
import { crc32 } from "./crc32.ts";
import { type LogRecord, recordProblem } from "./log-record.ts";

const CHUNK = 4 * 1024 * 1024;

export interface ReadResult {
  /** bytes in the file when read */
  size: number;
  /** offset of the first byte of a torn tail, if the file ends in one */
  tornAt?: number;
  /** why the tail was judged torn */
  tornReason?: string;
}

export interface ReadOptions {
  /**
   * Kinds of record not to hand out. Their lines are still checked (checksum, place in the file)
   * but not decoded: a line is known to be of a kind when it starts as encodeRecord writes that
   * kind (`{"k":"hist",`); any other line is decoded and handed out whatever its kind.
   */
  skip?: Iterable<LogRecord["k"]>;
  /**
   * opens sealed records (crypto/record-cipher.ts); without it a sealed record is StoreKeyError.
   * "keys-only": records are handed out as stored, sealed ones without their secret values (for
   * readers that need only ids and keys)
   */
  cipher?: RecordCipher | "keys-only";
}

/** What a cache entry's tag is set to when its record was altered: no tag matches it, so it is never served. */
export const ALTERED_CACHE_TAG = "altered";

/**
 * A record as the store uses it: sealed records opened. In an encrypted store a row record that is
 * not sealed, or does not authenticate, was altered: event records are damage (StoreCorruptError
 * naming the offset); cache records keep their keys with their data dropped and their tag marked,
 * so that the cache rejects, reports and refetches them instead of the whole store failing.
 */
function opened(record: LogRecord, cipher: RecordCipher | "keys-only" | undefined, file: string, offset: number): LogRecord {
  if (cipher === "keys-only") return record;
  const r = record as SealableRecord;
  if (r.s === undefined && (!cipher || cipher.acceptsPlain || !isSealedKind(r.k))) return record;
  if (!cipher) throw new StoreKeyError(`${file} holds encrypted records; set MUDSYNC_KEY_FILE or MUDSYNC_KEY to the store's key`);
  try {
    return cipher.open(r, file) as LogRecord;
  } catch (error) {
    if (!(error instanceof AlteredRecordError)) throw error;
    if (record.k === "cache") {
      delete r.s;
      for (const row of record.rows) Object.assign(row, { data: null, mac: ALTERED_CACHE_TAG });
      return record;
    }
    throw new StoreCorruptError(file, `${error.message.slice(file.length + 2)} at byte offset ${offset}`);
  }
}

type LineCheck = { ok: true; record: LogRecord | undefined } | { ok: false; reason: string };

/** The opening bytes of a line's JSON for each kind to skip. */
const skipPrefixes = (kinds: Iterable<string>): Buffer[] => [...kinds].flatMap((k) => [`{"k":"${k}",`, `{"k":"${k}"}`].map((p) => Buffer.from(p, "latin1")));

function startsWith(buf: Buffer, at: number, end: number, prefix: Buffer): boolean {
  return end - at >= prefix.length && buf.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0;
}

function checkLine(buf: Buffer, start: number, end: number, skip: Buffer[] = []): LineCheck {
  if (end - start < 11 || buf[start + 8] !== 0x20) return { ok: false, reason: "malformed line" };
  const want = Number.parseInt(buf.toString("latin1", start, start + 8), 16);
  if (!Number.isFinite(want) || crc32(buf, start + 9, end) !== want) {
    return { ok: false, reason: "checksum mismatch" };
  }
  for (const prefix of skip) if (startsWith(buf, start + 9, end, prefix)) return { ok: true, record: undefined };
  let value: unknown;
  try {
    value = JSON.parse(buf.toString("utf8", start + 9, end));
  } catch {
    return { ok: false, reason: "unreadable JSON" };
  }
  const problem = recordProblem(value);
  return problem ? { ok: false, reason: problem } : { ok: true, record: value as LogRecord };
}

/**
 * Calls onRecord for every good record in file order (but those `options.skip` leaves out). Stops
 * handing records out at the first bad line; the rest of the file decides whether that line was a
 * torn tail or damage.
 */
export async function readLog(
  file: string,
  onRecord: (record: LogRecord, offset: number) => void | Promise<void>,
  options: ReadOptions = {},
): Promise<ReadResult> {
  const skip = skipPrefixes(options.skip ?? []);
  const cipher = options.cipher;
  const fh = await open(file, "r");
  try {
    const size = (await fh.stat()).size;
    let buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
    let filled = 0; // bytes of buf holding data
    let base = 0; // file offset of buf[0]
    let fileOffset = 0; // next file offset to read
    let bad: { offset: number; reason: string } | undefined;

    for (;;) {
      if (filled === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, filled, buf.length - filled, fileOffset);
      fileOffset += bytesRead;
      filled += bytesRead;
      const eof = bytesRead === 0 || fileOffset >= size;
      let pos = 0;
      for (;;) {
        const nl = buf.indexOf(0x0a, pos);
        if (nl < 0 || nl >= filled) break;
        const check = checkLine(buf, pos, nl, skip);
        if (check.ok) {
          if (bad) {
            throw new StoreCorruptError(file, `${bad.reason} at byte offset ${bad.offset}, followed by intact records`);
          }
          const r = check.record && onRecord(opened(check.record, cipher, file, base + pos), base + pos);
          if (r) await r;
        } else if (!bad) {
          bad = { offset: base + pos, reason: check.reason };
        }
        pos = nl + 1;
      }
      // keep the unfinished line at the front of the buffer
      buf.copy(buf, 0, pos, filled);
      base += pos;
      filled -= pos;
      if (eof) {
        if (filled > 0 && !bad) bad = { offset: base, reason: "unfinished last line" };
        break;
      }
    }
    return bad ? { size, tornAt: bad.offset, tornReason: bad.reason } : { size };
  } finally {
    await fh.close();
  }
}

/**
 * The first record of a file if its first line (within `maxBytes`) is an intact record, else
 * undefined: for a look at a snapshot's header without reading the file.
 */
export async function readFirstRecord(file: string, maxBytes = 64 * 1024): Promise<LogRecord | undefined> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.allocUnsafe(maxBytes);
    const { bytesRead } = await fh.read(buf, 0, maxBytes, 0);
    const nl = buf.subarray(0, bytesRead).indexOf(0x0a);
    if (nl < 0) return undefined;
    const check = checkLine(buf, 0, nl);
    return check.ok ? check.record : undefined;
  } finally {
    await fh.close();
  }
}
