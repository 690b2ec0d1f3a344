/**
 * Builds a store's state on open: the snapshot of the current generation is streamed into Dexie
 * in chunks, then the write-ahead log is folded (last image of each row wins, records of an
 * atomic group only once its commit is read) and applied. The in-memory indexes and history are
 * rebuilt along the way. Lease records add their claims' history; a read-only open whose writer
 * still lives also lays the leases over the rows (a writer ignores them: their holder is gone).
 * A read-only open, and a part, load the rows into MemoryTable instead of Dexie
 * (`target.memory`), which skips fake-indexeddb's per-row work. A damaged snapshot or damage
 * inside the log throws StoreCorruptError; a torn log tail is reported for the caller to cut
 * (write mode) or ignore (read mode).
 *
 * A part (`target.part`, events/row-partition.ts) loads only the events of its rows and no history.
 */
import type { QueuedEvent } from "../../core/event.ts";
import type { CacheEntry, HistoryEntry } from "../../core/ports.ts";
import { StoreCorruptError } from "../../errors.ts";
import type { CacheDB, EventQueueDB } from "./databases.ts";
import type { EventHistory } from "./events/event-history.ts";
import { claimEntries, leasedImage } from "./leases/lease-table.ts";
import { AtomicGroups, type LeaseRecord, type LogRecord } from "./log/log-record.ts";
import { readLog } from "./log/log-reader.ts";
import type { MemoryTable } from "./events/memory-table.ts";
import type { OpenEventIndex } from "./events/open-event-index.ts";
import { inPart, type StorePart } from "./events/row-partition.ts";
import { UncommittedTail } from "./log/recovery.ts";
import { readSnapshot } from "./log/snapshot-reader.ts";
import type { Generation } from "./log/generation-files.ts";
import type { RecordCipher } from "./crypto/record-cipher.ts";

const CHUNK = 5000;

export interface LoadTarget {
  queue: EventQueueDB;
  cache: CacheDB;
  open: OpenEventIndex;
  history: EventHistory;
  /** read-only opens: rows go here instead of into Dexie */
  memory?: MemoryTable;
  /** load only this part's events (and no history) */
  part?: StorePart;
}

export interface LoadResult {
  /** a torn tail of the log: where it starts, how many bytes, why */
  torn?: { offset: number; bytes: number; reason: string };
  /** records of atomic groups that never committed (ignored) */
  discarded: number;
  /** where the log's tail of such records starts, when nothing after them counts (log/recovery.ts) */
  uncommittedFrom?: number;
  /** bytes of the log when read */
  walBytes?: number;
}

async function loadSnapshot(t: LoadTarget, file: string, maxEvents: number, dir: string, cipher: RecordCipher | undefined): Promise<void> {
  let events: QueuedEvent[] = [];
  let cache: CacheEntry[] = [];
  const flushEvents = async () => {
    if (!events.length) return;
    const rows = events;
    events = [];
    const memory = t.memory;
    if (memory) {
      for (const r of rows) {
        if (memory.peek(r.id) !== undefined) throw new StoreCorruptError(file, `holds event ${r.id} twice`);
        memory.set(r);
        t.open.track(undefined, r);
      }
      return;
    }
    try {
      await t.queue.events.bulkAdd(rows);
    } catch (error) {
      throw new StoreCorruptError(file, `rows could not be loaded (${(error as Error).message})`);
    }
    for (const r of rows) t.open.track(undefined, r);
  };
  const flushCache = async () => {
    if (!cache.length) return;
    const rows = cache;
    cache = [];
    await t.cache.cache.bulkPut(rows);
  };
  await readSnapshot(file, { maxEvents, dir, ...(cipher ? { cipher } : {}) }, {
    events: async (rows) => {
      for (const r of rows) if (!t.part || inPart(r, t.part)) events.push(r);
      if (events.length >= CHUNK) await flushEvents();
    },
    history: (rows) => {
      if (t.part) return;
      for (const h of rows) t.history.add(h);
    },
    cache: async (rows) => {
      for (const c of rows) cache.push(c);
      if (cache.length >= CHUNK) await flushCache();
    },
  });
  await flushEvents();
  await flushCache();
}

/** Folds log records; `apply` writes the result into the target. */
class LogFold {
  readonly events = new Map<string, QueuedEvent>();
  readonly cache = new Map<string, CacheEntry | null>();
  readonly history: HistoryEntry[] = [];
  /** leases logged and not yet ended by a later image of their row */
  readonly leases = new Map<string, Pick<LeaseRecord, "owner" | "until">>();
  private readonly groups = new AtomicGroups();

  constructor(private readonly part?: StorePart) {}

  add(record: LogRecord): void {
    for (const r of this.groups.route(record)) this.fold(r);
  }

  private fold(r: LogRecord): void {
    if (r.k === "ev") {
      for (const e of r.rows) {
        if (this.part && !inPart(e, this.part)) continue;
        this.events.set(e.id, e);
        this.leases.delete(e.id);
      }
    } else if (r.k === "lease") {
      // a part is a writer's: it ignores leases in the log (their holder is gone)
      if (!this.part) this.foldLease(r);
    }
    else if (r.k === "hist") {
      if (!this.part) for (const h of r.rows) this.history.push(h);
    }
    else if (r.k === "cache") for (const c of r.rows) this.cache.set(c.key, c);
    else if (r.k === "cachedel") for (const k of r.keys) this.cache.set(k, null);
  }

  private foldLease(r: LeaseRecord): void {
    for (const h of claimEntries(r)) this.history.push(h);
    const lease = { owner: r.owner, until: r.until };
    for (const id of r.ids) this.leases.set(id, lease);
  }

  get uncommitted(): number {
    return this.groups.held;
  }

  async apply(t: LoadTarget, liveLeases: boolean): Promise<void> {
    const rows = [...this.events.values()];
    const memory = t.memory;
    if (memory) {
      for (const r of rows) {
        t.open.track(memory.peek(r.id), r);
        memory.set(r);
      }
      for (const [id, lease] of liveLeases ? this.leases : []) {
        const row = memory.peek(id);
        if (!row) continue;
        const leased = leasedImage(row, lease);
        t.open.track(row, leased);
        memory.set(leased);
      }
    }
    for (let i = 0; !memory && i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      const befores = await t.queue.events.bulkGet(chunk.map((r) => r.id));
      await t.queue.events.bulkPut(chunk);
      chunk.forEach((r, k) => t.open.track(befores[k], r));
    }
    for (const h of this.history) t.history.add(h);
    const puts: CacheEntry[] = [];
    const dels: string[] = [];
    for (const [key, c] of this.cache) (c ? puts.push(c) : dels.push(key));
    if (puts.length) await t.cache.cache.bulkPut(puts);
    if (dels.length) await t.cache.cache.bulkDelete(dels);
  }
}

export async function loadGeneration(
  t: LoadTarget,
  g: Generation,
  opts: { maxEvents: number; dir: string; walExists: boolean; liveLeases?: boolean; cipher?: RecordCipher },
): Promise<LoadResult> {
  if (g.snapshot) await loadSnapshot(t, g.snapshot, opts.maxEvents, opts.dir, opts.cipher);
  const fold = new LogFold(t.part);
  const tail = new UncommittedTail();
  let torn: LoadResult["torn"];
  let walBytes: number | undefined;
  if (opts.walExists) {
    const r = await readLog(g.wal, (record, offset) => {
      if (record.k === "snapshot" || record.k === "end") {
        throw new StoreCorruptError(g.wal, `unexpected ${record.k} record at byte offset ${offset}`);
      }
      fold.add(record);
      tail.see(record, offset);
    }, opts.cipher ? { cipher: opts.cipher } : {});
    if (r.tornAt !== undefined) torn = { offset: r.tornAt, bytes: r.size - r.tornAt, reason: r.tornReason ?? "damaged" };
    walBytes = r.size;
  }
  await fold.apply(t, opts.liveLeases === true);
  const uncommittedFrom = tail.start();
  return { torn, discarded: fold.uncommitted, ...(uncommittedFrom !== undefined ? { uncommittedFrom } : {}), ...(walBytes !== undefined ? { walBytes } : {}) };
}

/** The rows a part file (parts/part-files.ts) holds: its records folded, last image of each row winning. */
export async function foldPartFile(file: string, cipher?: RecordCipher): Promise<QueuedEvent[]> {
  const fold = new LogFold();
  const r = await readLog(file, (record) => fold.add(record), cipher ? { cipher } : {});
  if (r.tornAt !== undefined) throw new StoreCorruptError(file, `${r.tornReason ?? "damaged"} at byte offset ${r.tornAt}`);
  return [...fold.events.values()];
}
