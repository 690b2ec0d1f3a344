/**
 * Bulk import straight into a store's files, without opening Dexie: the rows are streamed into
 * the current write-ahead log as records of one atomic group (the same records a writer's
 * `atomic()` writes), a chunk at a time, and count only once the group's commit record is
 * durable. Memory holds one chunk and the set of ids and cache keys stored (for idempotence and
 * the size limit), never the rows, so it does not grow with the size of the import beyond that
 * set. The writer's lock is held throughout, as for any write.
 *
 * Crash safety: the records are fdatasync'd before the commit record is appended and synced, so
 * a crash before the commit leaves records that every open ignores (the store as before) and the
 * next writer cuts, and after it the whole import. A failure (a bad row, the size limit) appends
 * an abort record; a failed write (a full disk) appends nothing more, and is a StoreWriteError.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import path from "node:path";
import type { QueuedEvent } from "../../../core/event.ts";
import type { CacheEntry } from "../../../core/ports.ts";
import { StoreTooLargeError } from "../../../errors.ts";
import { ownString } from "../../../io/own-string.ts";
import { assertCacheEntry } from "../dexie-cache-store.ts";
import { acquireLock, releaseLock } from "../lock-file.ts";
import { encodeRecord, type LogRecord } from "../log/log-record.ts";
import { cutTornTail, cutUncommittedTail, discardedNote } from "../log/recovery.ts";
import { assertStorable } from "../events/storable-event.ts";
import { currentGeneration, ensureQueueDir, queueDirOf, removeFiles, syncDir } from "../log/generation-files.ts";
import { DEFAULT_MAX_EVENTS } from "../store-limits.ts";
import { scanStoredKeys } from "./stored-keys.ts";
import { storeWriteError } from "../log/write-failure.ts";
import { STORE_FILE_MODE } from "../log/file-modes.ts";
import type { RecordCipher } from "../crypto/record-cipher.ts";
import type { CacheTags } from "../crypto/cache-tags.ts";
import { cacheTagsFor, recordNewStoreKey, type StoreKeys, storeSealing } from "../store-encryption.ts";

export interface ImportRow {
  table: "events" | "cache";
  value: Record<string, unknown>;
}

export interface ImportCounts {
  inserted: number;
  existing: number;
  replaced: number;
}

export interface StreamImportOptions {
  dir: string;
  /** recorded in the lock */
  command?: string;
  /** overwrite events and cache entries already stored (else they are kept and counted as existing) */
  replace?: boolean;
  maxEvents?: number;
  /** rows per log record (default 1000) */
  chunkRows?: number;
  /** one-line notes about what was repaired or taken over, as they happen */
  onWarning?: (note: string) => void;
  /** the keys to open an encrypted store with (store-encryption.ts) */
  keys?: StoreKeys;
  /** runs with the lock held, before the store is read (a check that should refuse early) */
  beforeWrite?: (store: { maxEvents: number }) => void | Promise<void>;
}

export interface StreamImportResult {
  events: ImportCounts;
  cache: ImportCounts;
  /** ids and cache keys held in memory at the end (the store's and the import's) */
  keysHeld: number;
}

async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) off += (await fh.write(data, off, data.length - off)).bytesWritten;
}

/** What a failed write of the import means (said in its StoreWriteError). */
const FAILED_IMPORT_OUTCOME = "nothing was imported (the store is as it was; the next write to it reclaims what the import wrote)";
/** Once the commit record is on its way, a failure leaves it unknown whether it reached the disk. */
const FAILED_COMMIT_OUTCOME = "the import may or may not have been committed; import the files again (events already stored are kept)";

/** The records of one atomic group appended to an open log. */
class GroupLog {
  private readonly tx = randomBytes(6).toString("hex");
  private written = false;
  /** the commit record was (perhaps partly) written: an abort after it would contradict it */
  private committing = false;
  /**
   * a write or sync failed: the file may end in part of a line, after which a good record (an
   * abort) would read as damage inside the log; the records are left for the next open to cut
   */
  private failed = false;

  constructor(
    private readonly fh: FileHandle,
    private readonly file: string,
    private readonly cipher: RecordCipher | undefined,
  ) {}

  async put(record: LogRecord): Promise<void> {
    const grouped = { ...record, tx: this.tx } as LogRecord;
    const line = encodeRecord(this.cipher ? this.cipher.seal(grouped) : grouped);
    this.written = true;
    await this.io(() => writeAll(this.fh, line));
  }

  /** Makes the records durable, then commits them with one record. */
  async commit(): Promise<void> {
    if (!this.written) return;
    await this.io(() => this.fh.datasync());
    this.committing = true;
    await this.io(() => writeAll(this.fh, encodeRecord({ k: "commit", tx: this.tx })));
    await this.io(() => this.fh.datasync());
  }

  /** Best effort: without it the records are ignored all the same, and reclaimed by the next open. */
  async abort(): Promise<void> {
    if (!this.written || this.committing || this.failed) return;
    await writeAll(this.fh, encodeRecord({ k: "abort", tx: this.tx })).catch(() => undefined);
    await this.fh.datasync().catch(() => undefined);
  }

  private async io(step: () => Promise<unknown>): Promise<void> {
    try {
      await step();
    } catch (error) {
      this.failed = true;
      throw storeWriteError(error, this.file, this.committing ? FAILED_COMMIT_OUTCOME : FAILED_IMPORT_OUTCOME);
    }
  }
}

export async function importIntoDexieStore(opts: StreamImportOptions, rows: AsyncIterable<ImportRow>): Promise<StreamImportResult> {
  const dir = path.resolve(opts.dir);
  const queueDir = queueDirOf(dir);
  const maxEvents = opts.maxEvents ?? DEFAULT_MAX_EVENTS;
  const warn = opts.onWarning ?? (() => undefined);
  // before the lock: a missing or wrong key changes nothing
  const sealing = await storeSealing(queueDir, dir, opts.keys ?? {}, { write: true });
  if (sealing.warning) warn(sealing.warning);
  await ensureQueueDir(queueDir);
  const lock = await acquireLock(queueDir, { pid: process.pid, startedAt: Date.now(), command: opts.command ?? "import" });
  if (lock.note) warn(lock.note);
  try {
    await recordNewStoreKey(queueDir, sealing);
    await opts.beforeWrite?.({ maxEvents });
    const g = await currentGeneration(queueDir);
    const walExists = existsSync(g.wal);
    const keys = await scanStoredKeys(g, { maxEvents, dir, walExists });
    if (keys.torn) warn((await cutTornTail(g.wal, keys.torn)).note);
    if (keys.discarded > 0 && keys.uncommittedFrom !== undefined) {
      const end = keys.torn?.offset ?? keys.walBytes ?? keys.uncommittedFrom;
      warn((await cutUncommittedTail(g.wal, keys.uncommittedFrom, end, keys.discarded)).note);
    } else if (keys.discarded > 0) warn(discardedNote(keys.discarded));
    await removeFiles(g.leftovers);
    const fh = await open(g.wal, "a", STORE_FILE_MODE);
    try {
      if (!walExists) await syncDir(queueDir);
      const group = new GroupLog(fh, g.wal, sealing.cipher);
      let tags: Promise<CacheTags> | undefined;
      const cacheTags = () => (tags ??= cacheTagsFor(queueDir, sealing.cipher, true));
      const writer = new ChunkedRows(group, keys, { replace: Boolean(opts.replace), maxEvents, dir, chunkRows: opts.chunkRows ?? 1000, cacheTags });
      try {
        for await (const row of rows) await writer.add(row);
        await writer.flush();
        await group.commit();
      } catch (error) {
        await group.abort();
        throw error;
      }
      return { events: writer.events, cache: writer.cache, keysHeld: keys.events.size + keys.cache.size };
    } finally {
      await fh.close();
    }
  } finally {
    await releaseLock(queueDir);
  }
}

/**
 * An import's decision for one row, counted: a new key is inserted; a key already there is kept
 * (existing) or, with replace, overwritten. Returns whether to write the row.
 */
export function countImportRow(exists: boolean, counts: ImportCounts, replace: boolean): boolean {
  if (!exists) counts.inserted++;
  else if (replace) counts.replaced++;
  else {
    counts.existing++;
    return false;
  }
  return true;
}

/** Decides per row (new, kept, replaced) and buffers the rows to write a chunk per record. */
class ChunkedRows {
  readonly events: ImportCounts = { inserted: 0, existing: 0, replaced: 0 };
  readonly cache: ImportCounts = { inserted: 0, existing: 0, replaced: 0 };
  private eventRows: QueuedEvent[] = [];
  private cacheRows: CacheEntry[] = [];

  constructor(
    private readonly log: GroupLog,
    private readonly keys: { events: Set<string>; cache: Set<string> },
    private readonly settings: { replace: boolean; maxEvents: number; dir: string; chunkRows: number; cacheTags: () => Promise<CacheTags> },
  ) {}

  async add(row: ImportRow): Promise<void> {
    if (row.table === "cache") {
      const entry = row.value as unknown as CacheEntry;
      assertCacheEntry(entry);
      if (!this.decide(this.keys.cache, entry.key, this.cache)) return;
      // tagged as the store's cache tags its entries, so that what was imported is served
      this.cacheRows.push((await this.settings.cacheTags()).tagged(entry));
      if (this.cacheRows.length >= this.settings.chunkRows) await this.flushCache();
      return;
    }
    const event = row.value as unknown as QueuedEvent;
    assertStorable(event, "imported event");
    if (!this.keys.events.has(event.id) && this.keys.events.size >= this.settings.maxEvents) {
      throw new StoreTooLargeError(
        `importing into store ${this.settings.dir} would take it past ${this.settings.maxEvents} events, more than the local store takes; use the Postgres queue store (--queue postgres://…) for queues this large; nothing was imported`,
      );
    }
    if (!this.decide(this.keys.events, event.id, this.events)) return;
    this.eventRows.push(event);
    if (this.eventRows.length >= this.settings.chunkRows) await this.flushEvents();
  }

  /**
   * Counts a row and says whether to write it. A key seen earlier in the import counts as
   * stored, as it would be by then; with replace the later image is written (the last one wins).
   */
  private decide(stored: Set<string>, key: string, counts: ImportCounts): boolean {
    const exists = stored.has(key);
    if (!exists) stored.add(ownString(key));
    return countImportRow(exists, counts, this.settings.replace);
  }

  async flush(): Promise<void> {
    await this.flushEvents();
    await this.flushCache();
  }

  private async flushEvents(): Promise<void> {
    if (this.eventRows.length === 0) return;
    const rows = this.eventRows;
    this.eventRows = [];
    await this.log.put({ k: "ev", rows });
  }

  private async flushCache(): Promise<void> {
    if (this.cacheRows.length === 0) return;
    const rows = this.cacheRows;
    this.cacheRows = [];
    await this.log.put({ k: "cache", rows });
  }
}
