/**
 * openDexieStore: opens (or creates) the durable queue under `<dir>/queue/`. A writer takes the
 * lock, recovers (cuts a torn log tail and says so), drops files of older generations and
 * compacts when the log has grown large next to the snapshot. A reader takes no lock and reads
 * the snapshot and log as they are, ignoring a torn tail without repairing it; it keeps the
 * events as plain objects (MemoryTable), not in Dexie, which opens about twice as fast. Leases
 * live in the writer's memory (leases/lease-table.ts); a reader sees them through the log while the
 * writer holds the lock, and once it is gone sees its leased events as they were persisted.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { type Clock, systemClock } from "../../core/ports.ts";
import { StoreCorruptError, UsageError } from "../../errors.ts";
import { openDatabases } from "./databases.ts";
import { DexieQueueStore } from "./dexie-queue-store.ts";
import { COMPACT_MIN_BYTES } from "./writer/live-compaction.ts";
import type { StoreInternals } from "./store-internals.ts";
import { EventHistory } from "./events/event-history.ts";
import { LeaseTable } from "./leases/lease-table.ts";
import { acquireLock, readLock, releaseLock } from "./lock-file.ts";
import { MemoryTable } from "./events/memory-table.ts";
import { OpenEventIndex } from "./events/open-event-index.ts";
import { cutTornTail, cutUncommittedTail, discardedNote } from "./log/recovery.ts";
import { currentGeneration, ensureQueueDir, type Generation, queueDirOf, removeFiles, syncDir } from "./log/generation-files.ts";
import { loadGeneration, type LoadResult, type LoadTarget } from "./load-generation.ts";
import type { StorePart } from "./events/row-partition.ts";
import { DEFAULT_MAX_EVENTS } from "./store-limits.ts";
import { WalWriter } from "./log/wal-writer.ts";
import { cacheTagsFor, recordNewStoreKey, type StoreKeys, storeSealing } from "./store-encryption.ts";
import type { RecordCipher } from "./crypto/record-cipher.ts";

export { DEFAULT_MAX_EVENTS };

/** on open, compact when the log is at least this large and larger than half the snapshot */
export const COMPACT_ON_OPEN_BYTES = 8 * 1024 * 1024;

export interface OpenDexieStoreOptions {
  dir: string;
  mode: "write" | "read";
  /** recorded in the lock (what holds the store) */
  command?: string;
  /** a daemon's control address, recorded in the lock */
  control?: string;
  /** the file holding that control API's bearer token, recorded in the lock for the CLI */
  tokenFile?: string;
  maxEvents?: number;
  /** log size that triggers compaction while running (default 64 MiB, or the snapshot size if larger) */
  compactMinBytes?: number;
  clock?: Clock;
  /** the keys to open an encrypted store with (store-encryption.ts); none: only a store that is not encrypted opens */
  keys?: StoreKeys;
  /** opened by a key conversion (rekey-store.ts): an interrupted one is resumed, not refused */
  converting?: boolean;
}

/** A part of a store (events/row-partition.ts), opened by a caller that holds the store's lock. */
export interface OpenStorePartOptions {
  dir: string;
  part: StorePart;
  /** the part's file (parts/part-files.ts): its rows are loaded from there */
  file: string;
  maxEvents?: number;
  clock?: Clock;
  /** the store's cipher, when it is encrypted */
  cipher?: RecordCipher;
}

async function load(
  queueDir: string,
  dir: string,
  mode: "write" | "read",
  maxEvents: number,
  part: { part: StorePart; file: string } | undefined,
  cipher: RecordCipher | undefined,
): Promise<{ g: Generation; loaded: LoadResult; parts: LoadTarget }> {
  // a reader can race a writer's compaction; a vanished file means: start again on the new generation
  for (let attempt = 0; ; attempt++) {
    const parts: LoadTarget = {
      ...(await openDatabases()),
      open: new OpenEventIndex(mode === "write"),
      history: new EventHistory(),
      // a reader, and a part (its rows are the drain's own, never listed), hold plain rows, not Dexie's
      ...(mode === "read" || part ? { memory: new MemoryTable() } : {}),
      ...(part ? { part: part.part } : {}),
    };
    try {
      const g = await currentGeneration(queueDir);
      // a reader shows the writer's leases only while the writer lives
      const liveLeases = mode === "read" && (await readLock(queueDir))?.alive === true;
      // a part's rows come from its own file (a log of its event records)
      const from = part ? { gen: g.gen, wal: part.file, snapshotBytes: 0, walBytes: 0, leftovers: [] } : g;
      const loaded = await loadGeneration(parts, from, { maxEvents, dir, walExists: part !== undefined || existsSync(g.wal), liveLeases, ...(cipher ? { cipher } : {}) });
      return { g, loaded, parts };
    } catch (error) {
      parts.queue.close();
      parts.cache.close();
      const vanished = (error as NodeJS.ErrnoException).code === "ENOENT";
      if (!(vanished && mode === "read" && attempt < 5)) throw error;
    }
  }
}

export async function openDexieStore(opts: OpenDexieStoreOptions): Promise<DexieQueueStore> {
  if (!opts.dir) throw new UsageError("store directory: expected a path");
  const dir = path.resolve(opts.dir);
  const queueDir = queueDirOf(dir);
  const maxEvents = opts.maxEvents ?? DEFAULT_MAX_EVENTS;
  const warnings: string[] = [];

  if (opts.mode === "read" && !existsSync(queueDir)) {
    // nothing stored yet: an empty, read-only store
    const dbs = await openDatabases();
    return new DexieQueueStore({
      dir, queueDir, mode: "read", queue: dbs.queue, cacheDb: dbs.cache, open: new OpenEventIndex(false), history: new EventHistory(),
      memory: new MemoryTable(), leases: new LeaseTable(),
      wal: null, gen: 0, snapshotBytes: 0, maxEvents, compactMinBytes: COMPACT_MIN_BYTES, clock: opts.clock ?? systemClock,
      warnings, release: async () => undefined,
    });
  }

  // before the lock and before anything is read: a missing or wrong key changes nothing
  const sealing = await storeSealing(queueDir, dir, opts.keys ?? {}, { write: opts.mode === "write", converting: opts.converting === true });
  if (sealing.warning) warnings.push(sealing.warning);

  if (opts.mode === "write") {
    await ensureQueueDir(queueDir);
    const lock = await acquireLock(queueDir, {
      pid: process.pid,
      startedAt: Date.now(),
      command: opts.command ?? process.argv.slice(1).join(" "),
      ...(opts.control ? { control: opts.control } : {}),
      ...(opts.tokenFile ? { tokenFile: opts.tokenFile } : {}),
    });
    if (lock.note) warnings.push(lock.note);
  }

  try {
    if (opts.mode === "write") await recordNewStoreKey(queueDir, sealing);
    return await openLoaded({ ...opts, dir, maxEvents, warnings, release: () => releaseLock(queueDir), ...(sealing.cipher ? { cipher: sealing.cipher } : {}) });
  } catch (error) {
    if (opts.mode === "write") await releaseLock(queueDir);
    throw error;
  }
}

/**
 * Opens one part of a store for writing. The caller holds the store's lock for as long as any
 * part is open (store.close() of a part does not release it) and opens one part at a time.
 */
export async function openDexieStorePart(opts: OpenStorePartOptions): Promise<DexieQueueStore> {
  const dir = path.resolve(opts.dir);
  return openLoaded({
    dir,
    mode: "write",
    part: { part: opts.part, file: opts.file },
    maxEvents: opts.maxEvents ?? DEFAULT_MAX_EVENTS,
    clock: opts.clock,
    ...(opts.cipher ? { cipher: opts.cipher } : {}),
    warnings: [],
    release: async () => undefined,
  });
}

interface LoadedOptions {
  dir: string;
  mode: "write" | "read";
  maxEvents: number;
  compactMinBytes?: number;
  clock?: Clock;
  part?: { part: StorePart; file: string };
  cipher?: RecordCipher;
  warnings: string[];
  /** releases the lock (taken by the caller) when the store closes */
  release(): Promise<void>;
}

/** Loads the current generation and builds the store; a writer cuts a torn tail and opens the log. */
async function openLoaded(opts: LoadedOptions): Promise<DexieQueueStore> {
  const { dir, maxEvents, warnings } = opts;
  const queueDir = queueDirOf(dir);
  const { g, loaded, parts } = await load(queueDir, dir, opts.mode, maxEvents, opts.part, opts.cipher);
  let recovered: StoreInternals["recovered"];
  if (loaded.torn && opts.part) {
    // written whole by this process before it was read: damage is not a crash's torn write
    parts.queue.close();
    parts.cache.close();
    throw new StoreCorruptError(opts.part.file, `${loaded.torn.reason} at byte offset ${loaded.torn.offset}`);
  }
  if (loaded.torn) {
    if (opts.mode === "write") {
      const cut = await cutTornTail(g.wal, loaded.torn);
      recovered = { truncatedBytes: cut.truncatedBytes, file: cut.file };
      warnings.push(cut.note);
    } else {
      warnings.push(`${g.wal} ends in ${loaded.torn.bytes} bytes of an unfinished write (ignored; a writer will repair it)`);
    }
  }
  // records of an atomic write that never committed: a writer gives their space back, by cutting
  // them off the log's end, or (when records that count follow them) by compacting once open
  let compactNow = false;
  if (loaded.discarded > 0 && opts.mode === "write" && !opts.part && loaded.uncommittedFrom !== undefined) {
    const end = loaded.torn?.offset ?? loaded.walBytes ?? loaded.uncommittedFrom;
    warnings.push((await cutUncommittedTail(g.wal, loaded.uncommittedFrom, end, loaded.discarded)).note);
  } else if (loaded.discarded > 0) {
    warnings.push(discardedNote(loaded.discarded));
    compactNow = opts.mode === "write" && !opts.part;
  }

  let wal: WalWriter | null = null;
  if (opts.mode === "write") {
    // a part's store leaves the files to its opener (the part files are *.tmp leftovers too)
    if (!opts.part) await removeFiles(g.leftovers);
    const fresh = !existsSync(g.wal);
    wal = await WalWriter.open(g.wal);
    if (fresh) await syncDir(queueDir);
  }
  const store = new DexieQueueStore({
    dir, queueDir, mode: opts.mode, queue: parts.queue, cacheDb: parts.cache, open: parts.open, history: parts.history,
    leases: new LeaseTable(),
    ...(parts.memory ? { memory: parts.memory } : {}),
    wal, gen: g.gen, snapshotBytes: g.snapshotBytes, maxEvents, ...(opts.cipher ? { cipher: opts.cipher } : {}),
    cacheTags: await cacheTagsFor(queueDir, opts.cipher, false),
    compactMinBytes: opts.compactMinBytes ?? COMPACT_MIN_BYTES, clock: opts.clock ?? systemClock,
    recovered, warnings,
    release: opts.release,
    ...(opts.part ? { part: opts.part.part } : {}),
  });
  const walBytes = wal?.size ?? 0;
  if (wal && !opts.part && walBytes >= COMPACT_ON_OPEN_BYTES && walBytes > g.snapshotBytes / 2) await store.compact();
  else if (compactNow) {
    // the new generation leaves the records out; should that fail (disk still full), the store
    // works as it is and a later open tries again
    await store.compact().then(
      () => warnings.push("compacted the store to reclaim them"),
      (error: unknown) => warnings.push(`could not compact the store to reclaim them: ${(error as Error).message}`),
    );
  }
  return store;
}
