/**
 * Records of the queue's on-disk files and their line encoding. The write-ahead log and the
 * snapshot are both sequences of lines `<crc32 hex> <json>\n`, the checksum taken over the JSON
 * bytes. Event records carry whole row images, so replaying them is idempotent and order is all that
 * matters. `tx` marks a record written inside `atomic()`: it counts only once the matching
 * `commit` record is on disk.
 */
import type { CacheEntry, HistoryEntry } from "../../../core/ports.ts";
import type { EventStatus, QueuedEvent } from "../../../core/event.ts";
import { crc32Hex } from "./crc32.ts";
import type { SealedPart } from "../crypto/record-cipher.ts";

export type LogRecord =
  | { k: "ev"; rows: QueuedEvent[]; tx?: string; s?: SealedPart }
  | { k: "hist"; rows: HistoryEntry[]; tx?: string }
  | { k: "cache"; rows: CacheEntry[]; tx?: string; s?: SealedPart }
  | { k: "cachedel"; keys: string[]; tx?: string }
  | LeaseRecord
  | { k: "commit"; tx: string }
  | { k: "abort"; tx: string }
  | {
      k: "snapshot";
      format: typeof SNAPSHOT_FORMAT;
      version: 1;
      gen: number;
      createdAt: number;
      events: number;
    }
  | { k: "end"; events: number; history: number; cache: number };

/**
 * Leases the writer holds in memory, logged (without waiting for the disk) so that read-only
 * opens see them while the writer lives. They never bind a writer: on open it ignores them (their
 * holder is gone). With `at` the record is a claim and also stands for its history entries:
 * `from` holds the prior status and lease owner of claimed events that were not pending.
 */
export interface LeaseRecord {
  k: "lease";
  owner: string;
  until: number;
  ids: string[];
  at?: number;
  from?: Record<string, [EventStatus, string | null]>;
  tx?: string;
}

export const SNAPSHOT_FORMAT = "mudsync-queue-snapshot";

/**
 * Holds back the records of atomic groups while a log is read: `route` answers the records that
 * count now, in log order: a record outside any group at once, a group's records when its commit
 * is read, none for an abort. What is still held at the end never committed.
 */
export class AtomicGroups {
  private readonly open = new Map<string, LogRecord[]>();

  route(record: LogRecord): readonly LogRecord[] {
    if (record.k === "commit" || record.k === "abort") {
      const held = this.open.get(record.tx) ?? [];
      this.open.delete(record.tx);
      return record.k === "commit" ? held : [];
    }
    const tx = "tx" in record ? record.tx : undefined;
    if (tx === undefined) return [record];
    let list = this.open.get(tx);
    if (!list) this.open.set(tx, (list = []));
    list.push(record);
    return [];
  }

  /** records of groups that never committed */
  get held(): number {
    let n = 0;
    for (const list of this.open.values()) n += list.length;
    return n;
  }
}

/** Where lines are built; kept between calls while it is no larger than KEEP_BYTES. */
let scratch = Buffer.allocUnsafe(256 * 1024);
const KEEP_BYTES = 4 * 1024 * 1024;
/** rows stringified together: small enough that the text stays one flat string */
const ROWS_PER_PIECE = 64;

/** Writes text at `at`, growing scratch first if it might not fit (3 UTF-8 bytes per UTF-16 unit at most); returns the new end. */
function put(text: string, at: number): number {
  const room = at + text.length * 3;
  if (room > scratch.length) {
    const bigger = Buffer.allocUnsafe(Math.max(room, scratch.length * 2));
    scratch.copy(bigger, 0, 0, at);
    scratch = bigger;
  }
  return at + scratch.write(text, at, "utf8");
}

/**
 * Encodes one record as a checksummed line (with its trailing newline). The rows of a record are
 * stringified ROWS_PER_PIECE at a time: JSON.stringify of a whole record of a thousand rows builds
 * its text from pieces that V8 joins on the string's first use, which costs about 2.5 times what
 * encoding the rows piece by piece does. The
 * bytes are those of JSON.stringify(record) for records built as the store builds them (`k`,
 * `rows`, then the other fields).
 */
export function encodeRecord(record: LogRecord): Buffer {
  let at = 9;
  if ("rows" in record && Array.isArray(record.rows)) {
    at = put(`{"k":${JSON.stringify(record.k)},"rows":[`, at);
    const rows = record.rows as unknown[];
    for (let i = 0; i < rows.length; i += ROWS_PER_PIECE) {
      if (i > 0) at = put(",", at);
      const piece = JSON.stringify(rows.length <= ROWS_PER_PIECE ? rows : rows.slice(i, i + ROWS_PER_PIECE));
      at = put(piece.slice(1, -1), at);
    }
    at = put("]", at);
    for (const [key, value] of Object.entries(record)) {
      if (key === "k" || key === "rows" || value === undefined) continue;
      at = put(`,${JSON.stringify(key)}:${JSON.stringify(value)}`, at);
    }
    at = put("}", at);
  } else {
    at = put(JSON.stringify(record), at);
  }
  at = put("\n", at);
  scratch.write(crc32Hex(scratch, 9, at - 1), 0, "latin1");
  scratch[8] = 0x20;
  const line = Buffer.from(scratch.subarray(0, at));
  if (scratch.length > KEEP_BYTES) scratch = Buffer.allocUnsafe(256 * 1024);
  return line;
}

const KINDS = new Set(["ev", "hist", "lease", "cache", "cachedel", "commit", "abort", "snapshot", "end"]);

/** Checks the parsed JSON of a line has the shape of a record; returns a reason or null. */
export function recordProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "not a JSON object";
  const r = value as Record<string, unknown>;
  if (typeof r.k !== "string" || !KINDS.has(r.k)) return `unknown record kind ${JSON.stringify(r.k)}`;
  if ((r.k === "ev" || r.k === "hist" || r.k === "cache") && !Array.isArray(r.rows)) {
    return `record ${r.k} without rows`;
  }
  if (r.k === "cachedel" && !Array.isArray(r.keys)) return "record cachedel without keys";
  if (r.k === "lease" && (!Array.isArray(r.ids) || typeof r.owner !== "string" || typeof r.until !== "number")) {
    return "record lease without ids, owner or until";
  }
  if ((r.k === "commit" || r.k === "abort") && typeof r.tx !== "string") return `${r.k} record without tx`;
  return null;
}
