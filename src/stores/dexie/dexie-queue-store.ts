/**
 * DexieQueueStore: the durable local queue. Events live in Dexie (`EventQueueDB`, cache in
 * `CacheDB`) over an isolated fake-indexeddb; every write is applied to Dexie and the in-memory
 * indexes and appended to the write-ahead log, and its promise resolves only once the log is
 * fsync'd (group commit). Writes run one at a time (writer/store-writer.ts), their records go to
 * the log through writer/store-log.ts, and the log is compacted into a new snapshot while writes
 * go on (writer/live-compaction.ts). Reads go straight to Dexie (an update first looks at the rows
 * the writer saw last, events/recent-rows.ts), or, in a store opened read-only, to the plain rows
 * of MemoryTable (same answers, without fake-indexeddb's cost of loading). A part of a store
 * (events/row-partition.ts), opened by a drain, holds its rows in MemoryTable too and writes them
 * there. Opening, recovery and locking are in open-dexie-store.ts.
 *
 * Leases are held in memory (leases/lease-table.ts): the store has one writer, so a lease lives
 * exactly as long as the process. A claim writes nothing to Dexie and waits for no disk: it marks
 * the events leased in memory and logs the leases without a sync, for read-only opens. Reads of
 * the writer lay the leases over the rows; the first write of a leased row persists its outcome
 * and drops the lease. A writer that dies leaves its leased events claimable at once on the next
 * open.
 */
import type { EventStatus, QueuedEvent } from "../../core/event.ts";
import type {
  CacheStore,
  ClaimOptions,
  EnqueueResult,
  EventChange,
  HistoryEntry,
  ListPage,
  ListQuery,
  QueueStore,
  StoreCapabilities,
} from "../../core/ports.ts";
import { MudsyncError, UsageError } from "../../errors.ts";
import { DexieCacheStore } from "./dexie-cache-store.ts";
import type { RecordCipher } from "./crypto/record-cipher.ts";
import type { CacheTags, TaggedCacheEntry } from "./crypto/cache-tags.ts";
import { cacheTagsFor } from "./store-encryption.ts";
import { listEvents } from "./events/list-page.ts";
import { dexiePageSource, type PageSource } from "./events/page-source.ts";
import { leaseOverlay } from "./leases/lease-overlay.ts";
import type { LeaseTable } from "./leases/lease-table.ts";
import type { StoreInternals } from "./store-internals.ts";
import { LiveCompaction } from "./writer/live-compaction.ts";
import { StoreLog } from "./writer/store-log.ts";
import { StoreWriter } from "./writer/store-writer.ts";
import { WriteSerializer } from "./writer/write-serializer.ts";

export class DexieQueueStore implements QueueStore {
  readonly capabilities: StoreCapabilities;
  readonly cache: CacheStore;
  /** the store directory (the queue files are in `<dir>/queue/`) */
  readonly dir: string;
  /** set when open cut a torn log tail left by a crash */
  readonly recovered?: { truncatedBytes: number; file: string };
  /** one-line notes for the user about what open repaired or took over */
  readonly warnings: readonly string[];
  /** most events this store takes; writes beyond it throw StoreTooLargeError */
  readonly maxEvents: number;

  private readonly state: StoreInternals;
  /** where reads go: MemoryTable when read-only, else the Dexie table with the leases laid over it */
  private readonly source: PageSource;
  private readonly leases: LeaseTable;
  private readonly writer: StoreWriter;
  private readonly compaction: LiveCompaction;
  private closed: Promise<void> | undefined;
  /** cache entries found altered on disk since open (never served) */
  cacheAltered = 0;
  private readonly alteredListeners = new Set<(key: string) => void>();

  constructor(internals: StoreInternals) {
    this.state = internals;
    this.leases = internals.leases;
    const writes = new WriteSerializer();
    const log = new StoreLog(internals);
    this.compaction = new LiveCompaction(internals, writes, log, () => this.writer.groupOpen);
    this.writer = new StoreWriter(internals, writes, log, this.compaction);
    const memory = internals.memory;
    this.source = memory
      ? internals.mode === "read"
        ? memory
        : leaseOverlay(memory, internals.leases)
      : leaseOverlay(this.writer.recent.readThrough(dexiePageSource(internals.queue.events)), internals.leases);
    this.dir = internals.dir;
    this.recovered = internals.recovered;
    this.warnings = internals.warnings;
    this.maxEvents = internals.maxEvents;
    this.capabilities = { durable: true, shared: false, readOnly: internals.mode === "read" };
    this.cache = new DexieCacheStore(internals.cacheDb, {
      put: async (rows) => {
        this.assertWritable();
        return this.writer.writeCache({ put: rows });
      },
      del: async (keys) => {
        this.assertWritable();
        return this.writer.writeCache({ del: keys });
      },
    }, {
      get tags() {
        return internals.cacheTags;
      },
      ensureTags: async () => {
        this.assertWritable();
        return (internals.cacheTags ??= await cacheTagsFor(internals.queueDir, internals.cipher, true));
      },
      writable: internals.mode === "write",
      onAltered: (key) => {
        this.cacheAltered++;
        for (const fn of this.alteredListeners) fn(key);
      },
    });
  }

  /**
   * Checks every cache entry's tag without serving, reporting or deleting anything (for the
   * doctor): the keys of entries altered on disk (first `sample`), and how many carry no tag.
   */
  async checkCacheTags(sample = 10): Promise<{ entries: number; encrypted: boolean; altered: number; alteredKeys: string[]; untagged: number }> {
    const tags = this.state.cacheTags;
    const rows = (await this.state.cacheDb.cache.toArray()) as TaggedCacheEntry[];
    const result = { entries: rows.length, encrypted: this.state.cipher !== undefined, altered: 0, alteredKeys: [] as string[], untagged: 0 };
    for (const row of rows) {
      const check = tags?.check(row) ?? (row.mac === undefined ? "untagged" : "altered");
      if (check === "untagged") result.untagged++;
      else if (check === "altered" && result.altered++ < sample) result.alteredKeys.push(row.key);
    }
    return result;
  }

  /** Calls fn with the key of every altered cache entry found (and rejected) from now on; returns the unsubscribe. */
  onCacheAltered(fn: (key: string) => void): () => void {
    this.alteredListeners.add(fn);
    return () => this.alteredListeners.delete(fn);
  }

  // ------------------------------------------------------------------ reads

  async get(id: string): Promise<QueuedEvent | undefined> {
    return (await this.source.bulkGet([id]))[0];
  }

  getMany(ids: string[]): Promise<(QueuedEvent | undefined)[]> {
    return this.source.bulkGet(ids);
  }

  list(query: ListQuery): Promise<ListPage> {
    return listEvents(this.source, query);
  }

  async counts(): Promise<Record<EventStatus, number>> {
    return this.openCounts();
  }

  /** counts(), synchronously (a copy of the counts kept in memory). */
  openCounts(): Record<EventStatus, number> {
    return { ...this.state.open.counts };
  }

  async *scan(batch = 1000): AsyncIterable<QueuedEvent[]> {
    yield* this.pages(batch, false);
  }

  /**
   * The rows as persisted, without the writer's leases laid over them, in pages of `batch`. Rows
   * held in memory (a part, a read-only open) are the stored images themselves, not copies: for
   * writing out at once (a part's file), never to change or keep.
   */
  persistedPages(batch = 1000): AsyncIterable<QueuedEvent[]> {
    return this.pages(batch, true);
  }

  private async *pages(batch: number, persisted: boolean): AsyncIterable<QueuedEvent[]> {
    if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`scan batch must be an integer >= 1, got ${batch}`);
    let last: string | undefined;
    const memory = this.state.memory;
    for (;;) {
      let page: QueuedEvent[];
      if (memory) page = await memory.pageAfter(last, batch, !persisted);
      else {
        const coll = last === undefined ? this.state.queue.events.toCollection() : this.state.queue.events.where(":id").above(last);
        page = await coll.limit(batch).toArray();
      }
      if (!persisted && this.leases.size > 0) page = page.map((r) => this.leases.overlay(r));
      if (page.length === 0) return;
      yield page;
      if (page.length < batch) return;
      last = page[page.length - 1]!.id;
    }
  }

  async supersededBy(event: QueuedEvent): Promise<string | undefined> {
    return this.state.open.completedAfter(event);
  }

  async history(id: string): Promise<HistoryEntry[]> {
    this.assertWhole("history");
    return this.state.history.of(id);
  }

  /**
   * The earliest time at which claim may find an event of this store: now for a pending event
   * without a retry time, else the earliest retry time or lease expiry; undefined when no event
   * is open. (Rows blocked behind an earlier event may make it later; never earlier.)
   */
  dueAt(): number | undefined {
    let at: number | undefined;
    for (const info of this.state.open.byId.values()) {
      const t = info.status === "processing" ? (info.leaseUntil ?? 0) : (info.nextAttemptAt ?? 0);
      if (at === undefined || t < at) at = t;
    }
    return at;
  }

  // ----------------------------------------------------------------- writes

  async enqueue(events: QueuedEvent[]): Promise<EnqueueResult> {
    this.assertWritable();
    this.assertWhole("enqueue");
    return this.writer.enqueue(events);
  }

  async put(events: QueuedEvent[]): Promise<void> {
    this.assertWritable();
    this.assertWhole("put");
    return this.writer.put(events);
  }

  async claim(options: ClaimOptions): Promise<QueuedEvent[]> {
    this.assertWritable();
    return this.writer.claim(options);
  }

  /** Ends `owner`'s leases: each row is written back as it was stored before the claim. */
  async release(ids: string[], owner: string): Promise<void> {
    const changes: EventChange[] = [];
    for (const id of ids) {
      const lease = this.leases.get(id);
      if (!lease || lease.owner !== owner) continue;
      const { status, leaseUntil, leaseOwner } = lease.row;
      changes.push({ id, changes: { status, leaseUntil, leaseOwner }, expectOwner: owner, note: "released: the run stopped" });
    }
    await this.update(changes);
  }

  async update(changes: EventChange[]): Promise<{ lost: string[] }> {
    this.assertWritable();
    return this.writer.update(changes);
  }

  /**
   * Runs fn so that every write it makes counts only if all of them do: they share a transaction
   * id in the log and count once the commit marker is durable (also across a crash), so writes
   * inside fn resolve without waiting for the disk and `atomic` resolves once all are durable.
   * If fn throws, its writes are undone and the error is rethrown. Other writers wait meanwhile.
   */
  async atomic<T>(fn: () => Promise<T>): Promise<T> {
    this.assertWritable();
    this.assertWhole("atomic");
    return this.writer.atomic(fn);
  }

  /** Flushes, releases the lock and closes the databases. Safe to call more than once. */
  close(): Promise<void> {
    if (!this.closed) this.compaction.stop();
    this.closed ??= (async () => {
      await this.compaction.running?.catch(() => undefined);
      if (this.state.wal) {
        await this.writer.drained();
        await this.state.wal.close();
        await this.state.release();
      }
      this.leases.clear();
      this.writer.recent.clear();
      this.state.queue.close();
      this.state.cacheDb.close();
    })();
    return this.closed;
  }

  /**
   * Resolves once everything logged so far is on disk, leases included: a claim's leases reach
   * read-only opens with the log's next write, which a claim does not wait for.
   */
  async flush(): Promise<void> {
    this.assertWritable();
    await this.state.wal!.sync();
  }

  /** Writes a new snapshot and starts a new log generation now (after the one running, if any). */
  async compact(): Promise<void> {
    this.assertWritable();
    this.assertWhole("compact");
    await this.compaction.running?.catch(() => undefined);
    await this.compaction.start();
  }

  /**
   * Rewrites the whole store sealed with `cipher` (its cache entries tagged with `tags`): the
   * cache's tags are renewed in memory (an entry that does not check stays rejected), then a
   * compaction writes the new generation. Only a key conversion (rekey-store.ts) calls it, with
   * the store's KEYS file already naming the new key as `next`.
   */
  async reseal(cipher: RecordCipher, tags: CacheTags): Promise<void> {
    this.assertWritable();
    this.assertWhole("reseal");
    await this.compaction.running?.catch(() => undefined);
    const old = this.state.cacheTags;
    const rows = (await this.state.cacheDb.cache.toArray()) as TaggedCacheEntry[];
    const renewed = rows.filter((r) => old?.check(r) === "ok").map((r) => tags.tagged(r));
    if (renewed.length) await this.state.cacheDb.cache.bulkPut(renewed);
    this.state.cipher = cipher;
    this.state.cacheTags = tags;
    await this.compaction.start();
  }

  /** False once closed, or once a failed write left memory and the log out of step. */
  get healthy(): boolean {
    return !this.closed && !this.state.broken;
  }

  /** A part (events/row-partition.ts) holds some rows and no history: what needs the whole store is refused. */
  private assertWhole(what: string): void {
    const part = this.state.part;
    if (part) throw new MudsyncError(`store ${this.dir} is open as part ${part.index + 1} of ${part.count} (for a drain): ${what} needs the whole store`);
  }

  private assertWritable(): void {
    if (this.closed) throw new MudsyncError(`store ${this.dir} is closed`);
    if (!this.state.wal) throw new MudsyncError(`store ${this.dir} was opened read-only`);
    if (this.state.broken) throw new MudsyncError(`store ${this.dir} cannot be written: ${(this.state.broken as Error).message}`);
  }
}
