/**
 * DexieQueueStore: the durable local queue. Events live in Dexie (`EventQueueDB`, cache in
 * `CacheDB`) over an isolated fake-indexeddb; every write is applied to Dexie and the in-memory
 * indexes and appended to the write-ahead log (the new images of an update or put are logged as
 * soon as they are computed, so the log's sync overlaps fake-indexeddb's work), and its promise
 * resolves only once the log is fsync'd (group commit). Writes run one at a time through a
 * WriteSerializer; reads go straight to Dexie (an update first looks at the rows the writer saw
 * last, events/recent-rows.ts), or, in a store opened read-only, to the plain rows of
 * MemoryEvents (same answers, without fake-indexeddb's cost of loading). A part of a store
 * (events/row-partition.ts), opened by a drain, holds its rows in MemoryEvents too and writes them
 * there. Opening, recovery and locking are in open-dexie-store.ts.
 *
 * Leases are held in memory (leases/lease-table.ts): the store has one writer, so a lease lives exactly
 * as long as the process. A claim writes nothing to Dexie and waits for no disk: it marks the
 * events leased in memory and logs the leases without a sync, for read-only opens. Reads of the
 * writer lay the leases over the rows; the first write of a leased row persists its outcome and
 * drops the lease. A writer that dies leaves its leased events claimable at once on the next open.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { Dexie } from "dexie";
import type { EventStatus, QueuedEvent } from "../../core/event.ts";
import type {
  CacheEntry,
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
import { EventNotFoundError, MudsyncError, StoreTooLargeError, UsageError } from "../../errors.ts";
import { cacheWrite } from "./writer/cache-writes.ts";
import { claimEvents } from "./writer/claim-events.ts";
import { beginCompaction, finishCompaction, writeCompactionSnapshot } from "./writer/live-compaction.ts";
import { DexieCacheStore } from "./dexie-cache-store.ts";
import { DurabilityWatch } from "./writer/durability-watch.ts";
import { applyChanges } from "./events/apply-changes.ts";
import { dexieSource, type EventSource } from "./events/page-source.ts";
import { insertEvents } from "./events/enqueue-insert.ts";
import type { LeaseTable } from "./leases/lease-table.ts";
import { leasedSource } from "./leases/lease-overlay.ts";
import { listEvents } from "./events/list-page.ts";
import { RecentRows } from "./events/recent-rows.ts";
import { encodeRecord, type LogRecord } from "./log/log-record.ts";
import { assertStorable } from "./events/storable-event.ts";
import type { StoreInternals } from "./store-internals.ts";
import { tooLargeMessage } from "./load-generation.ts";
import type { MemoryEvents } from "./events/memory-table.ts";
import { UndoLog } from "./writer/undo-log.ts";
import { type Applied, WriteSerializer } from "./writer/write-serializer.ts";

/** the log is compacted into a new snapshot once it is larger than this and than the snapshot */
export const COMPACT_MIN_BYTES = 64 * 1024 * 1024;
/** log bytes an atomic group may have waiting for the disk before its writes wait too */
const GROUP_BACKLOG_BYTES = 8 * 1024 * 1024;

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

  private readonly s: StoreInternals;
  /** where reads go: MemoryEvents when read-only, else the Dexie table with the leases laid over it */
  private readonly source: EventSource;
  private readonly leases: LeaseTable;
  private readonly writes = new WriteSerializer();
  /** persisted images the writer saw last (a listed page, rows it updated), to skip reading them again */
  private readonly recent = new RecentRows(this.writes);
  private readonly txScope = new AsyncLocalStorage<string>();
  private undo: UndoLog | undefined;
  /** open events whose last write is not yet durable */
  private readonly fresh = new DurabilityWatch();
  /** the compaction running, if any (writer/live-compaction.ts): most of it runs while writes go on */
  private compaction: Promise<void> | undefined;
  private closed: Promise<void> | undefined;
  private broken: unknown;

  constructor(internals: StoreInternals) {
    this.s = internals;
    this.leases = internals.leases;
    const memory = internals.memory;
    this.source = memory
      ? internals.mode === "read"
        ? memory
        : leasedSource(memory, internals.leases)
      : leasedSource(this.recent.readThrough(dexieSource(internals.queue.events)), internals.leases);
    this.dir = internals.dir;
    this.recovered = internals.recovered;
    this.warnings = internals.warnings;
    this.maxEvents = internals.maxEvents;
    this.capabilities = { durable: true, shared: false, readOnly: internals.mode === "read" };
    this.cache = new DexieCacheStore(internals.cacheDb, {
      put: async (rows) => {
        this.assertWritable();
        return this.write((tx) => this.writeCache({ put: rows }, tx));
      },
      del: async (keys) => {
        this.assertWritable();
        return this.write((tx) => this.writeCache({ del: keys }, tx));
      },
    });
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
    return { ...this.s.open.counts };
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
    const memory = this.s.memory;
    for (;;) {
      let page: QueuedEvent[];
      if (memory) page = await memory.pageAfter(last, batch, !persisted);
      else {
        const coll = last === undefined ? this.s.queue.events.toCollection() : this.s.queue.events.where(":id").above(last);
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
    return this.s.open.completedAfter(event);
  }

  async history(id: string): Promise<HistoryEntry[]> {
    this.assertWhole("history");
    return this.s.history.of(id);
  }

  /**
   * The earliest time at which claim may find an event of this store: now for a pending event
   * without a retry time, else the earliest retry time or lease expiry; undefined when no event
   * is open. (Rows blocked behind an earlier event may make it later; never earlier.)
   */
  dueAt(): number | undefined {
    let at: number | undefined;
    for (const info of this.s.open.byId.values()) {
      const t = info.status === "processing" ? (info.leaseUntil ?? 0) : (info.nextAttemptAt ?? 0);
      if (at === undefined || t < at) at = t;
    }
    return at;
  }

  // ----------------------------------------------------------------- writes

  async enqueue(events: QueuedEvent[]): Promise<EnqueueResult> {
    this.assertWritable();
    this.assertWhole("enqueue");
    events.forEach((e, i) => assertStorable(e, `event ${i}`));
    if (events.length === 0) return { inserted: [], existing: [] };
    const tx = this.txScope.getStore();
    return this.writes.submitMerged(tx, "enqueue", events, (batches) => this.applyEnqueue(batches, tx));
  }

  async put(events: QueuedEvent[]): Promise<void> {
    this.assertWritable();
    this.assertWhole("put");
    events.forEach((e, i) => assertStorable(e, `event ${i}`));
    if (events.length === 0) return;
    await this.writeRows(async () => {
      // the last image of an id wins, as in a sequence of puts
      const rows = [...new Map(events.map((e) => [e.id, e])).values()];
      const befores = await this.s.queue.events.bulkGet(rows.map((r) => r.id));
      this.checkRoom(befores.filter((b) => b === undefined).length);
      // the new images are the caller's objects: not kept as the store's own
      this.recent.forget(rows.map((r) => r.id));
      return { value: undefined, rows, befores, hist: [] };
    });
  }

  async claim(o: ClaimOptions): Promise<QueuedEvent[]> {
    this.assertWritable();
    if (!Number.isInteger(o.limit) || o.limit < 0) throw new UsageError(`claim limit must be an integer >= 0, got ${o.limit}`);
    if (!(o.leaseMs > 0)) throw new UsageError(`claim leaseMs must be > 0, got ${o.leaseMs}`);
    return this.write(async (tx) => {
      const claimed = await claimEvents(this.s, o, this.group(tx));
      if (!claimed) return { value: [], durable: Promise.resolve() };
      this.s.wal!.write([encodeRecord(claimed.record)]);
      // hand out only what a crash keeps: wait if a claimed event's last write is not yet durable
      return { value: claimed.events, durable: this.fresh.of(claimed.record.ids) };
    });
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
    if (changes.length === 0) return { lost: [] };
    return this.writeRows(async () => {
      const ids = [...new Set(changes.map((c) => c.id))];
      const { persisted, seen: current } = await this.leases.rowsOf(ids, (unleased) => this.readRows(unleased));
      const missing = changes.find((c) => !current.has(c.id) && c.expectOwner === undefined);
      if (missing) throw new EventNotFoundError(missing.id);
      const { changed, rows, hist, lost } = applyChanges(ids, current, changes, this.s.clock.now());
      if (rows.length === 0) return { value: { lost }, rows: [], befores: [], hist: [] };
      return { value: { lost }, rows, befores: changed.map((id) => persisted.get(id)), hist, own: true };
    });
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
    if (this.txScope.getStore() !== undefined) return fn();
    const tx = `${randomBytes(6).toString("hex")}`;
    // a group never runs across a compaction: its rows could reach the snapshot and then abort
    for (let started = false; !started; ) {
      await this.compaction?.catch(() => undefined);
      started = await this.writes.submit(undefined, async () => {
        if (this.compaction) return { value: false, durable: Promise.resolve() };
        this.writes.setOwner(tx);
        this.undo = new UndoLog();
        return { value: true, durable: this.settled() };
      });
    }
    try {
      const result = await this.txScope.run(tx, fn);
      await this.writes.submit(tx, async () => ({ value: undefined, durable: this.log([{ k: "commit", tx }]) }));
      return result;
    } catch (error) {
      await this.writes.submit(tx, async () => {
        this.recent.clear();
        await this.undo?.rollback(this.s).catch((e: unknown) => {
          // memory and Dexie may now disagree with the log: refuse further writes; reopen recovers
          this.broken = e;
          throw e;
        });
        return { value: undefined, durable: this.log([{ k: "abort", tx }]) };
      }).catch(() => undefined);
      throw error;
    } finally {
      this.undo = undefined;
      this.writes.setOwner(undefined);
      this.maybeCompact();
    }
  }

  /** Flushes, releases the lock and closes the databases. Safe to call more than once. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.compaction?.catch(() => undefined);
      if (this.s.wal) {
        await this.writes.submit(undefined, async () => ({ value: undefined, durable: this.settled() })).catch(() => undefined);
        await this.s.wal.close();
        await this.s.release();
      }
      this.leases.clear();
      this.recent.clear();
      this.s.queue.close();
      this.s.cacheDb.close();
    })();
    return this.closed;
  }

  /**
   * Resolves once everything logged so far is on disk, leases included: a claim's leases reach
   * read-only opens with the log's next write, which a claim does not wait for.
   */
  async flush(): Promise<void> {
    this.assertWritable();
    await this.s.wal!.sync();
  }

  /** Writes a new snapshot and starts a new log generation now (after the one running, if any). */
  async compact(): Promise<void> {
    this.assertWritable();
    this.assertWhole("compact");
    await this.compaction?.catch(() => undefined);
    await this.startCompaction();
  }

  // --------------------------------------------------------------- internals

  /** False once closed, or once a failed write left memory and the log out of step. */
  get healthy(): boolean {
    return !this.closed && !this.broken;
  }

  /** A part (events/row-partition.ts) holds some rows and no history: what needs the whole store is refused. */
  private assertWhole(what: string): void {
    const part = this.s.part;
    if (part) throw new MudsyncError(`store ${this.dir} is open as part ${part.index + 1} of ${part.count} (for a drain): ${what} needs the whole store`);
  }

  private assertWritable(): void {
    if (this.closed) throw new MudsyncError(`store ${this.dir} is closed`);
    if (!this.s.wal) throw new MudsyncError(`store ${this.dir} was opened read-only`);
    if (this.broken) throw new MudsyncError(`store ${this.dir} cannot be written: ${(this.broken as Error).message}`);
  }

  /** Runs one write job (inside the caller's atomic group, if any). */
  private write<T>(apply: (tx: string | undefined) => Promise<{ value: T; durable: Promise<void> }>): Promise<T> {
    const tx = this.txScope.getStore();
    return this.writes.submit(tx, async () => {
      const r = await apply(tx);
      this.maybeCompact();
      return r;
    });
  }

  /**
   * A write job that reads events, computes their new images (fn) and writes them, in one Dexie
   * transaction (fewer trips through fake-indexeddb's scheduler). The new images are logged as
   * soon as they are known, before Dexie stores them: the log's write and fdatasync then run
   * while fake-indexeddb updates its indexes (about the time of the sync) instead of after it.
   * The caller is still answered only once the log is durable. Should Dexie fail to store rows
   * already logged, memory and Dexie no longer match the log: the store refuses further writes
   * and a reopen recovers from the log (inside an atomic group, the group's abort undoes them).
   */
  private writeRows<T>(
    /** `own`: the new images are the store's objects (built by it, not the caller's) */
    fn: () => Promise<{ value: T; rows: QueuedEvent[]; befores: (QueuedEvent | undefined)[]; hist: HistoryEntry[]; own?: boolean }>,
  ): Promise<T> {
    const memory = this.s.memory;
    if (memory) return this.writeMemoryRows(memory, fn);
    return this.write(async (tx) => {
      let durable: Promise<void> | undefined;
      const r = await this.s.queue
        .transaction("rw", this.s.queue.events, async () => {
          const r = await fn();
          if (r.rows.length === 0 && r.hist.length === 0) return r;
          // started outside Dexie's transaction zone: the log's I/O is not part of the transaction
          durable = Dexie.ignoreTransaction(() => this.logEvents(r.rows, r.hist, tx));
          if (r.rows.length > 0) await this.s.queue.events.bulkPut(r.rows);
          return r;
        })
        .catch((error: unknown) => {
          if (durable && tx === undefined) this.broken ??= error;
          throw error;
        });
      if (!durable) return { value: r.value, durable: this.settled() };
      this.trackEvents(r.rows, r.befores, r.hist, tx, durable);
      if (r.own) this.recent.wrote(r.rows);
      return { value: r.value, durable };
    });
  }

  /**
   * writeRows for a part (rows held as plain objects, MemoryEvents): the new images are logged
   * and then stored as they are, which is safe because they are the store's own (update builds
   * them; put, the one write of the caller's objects, is refused in a part).
   */
  private writeMemoryRows<T>(
    memory: MemoryEvents,
    fn: () => Promise<{ value: T; rows: QueuedEvent[]; befores: (QueuedEvent | undefined)[]; hist: HistoryEntry[]; own?: boolean }>,
  ): Promise<T> {
    return this.write(async (tx) => {
      const r = await fn();
      if (r.rows.length === 0 && r.hist.length === 0) return { value: r.value, durable: this.settled() };
      if (r.rows.length > 0 && !r.own) throw new MudsyncError(`store ${this.dir}: a part stores only images it built`);
      const durable = this.logEvents(r.rows, r.hist, tx);
      for (const row of r.rows) memory.set(row);
      this.trackEvents(r.rows, r.befores, r.hist, tx, durable);
      this.recent.wrote(r.rows);
      return { value: r.value, durable };
    });
  }

  /** Persisted rows of ids: the images the writer saw last, the others from Dexie (or a part's plain rows). */
  private async readRows(ids: string[]): Promise<(QueuedEvent | undefined)[]> {
    const rows = ids.map((id) => this.recent.get(id));
    const missing: number[] = [];
    rows.forEach((r, i) => r === undefined && missing.push(i));
    if (missing.length === 0) return rows;
    const want = missing.map((i) => ids[i]!);
    // plain rows are replaced, never changed in place: the stored images serve as they are
    const read = this.s.memory ? this.s.memory.peekMany(want) : await this.s.queue.events.bulkGet(want);
    missing.forEach((at, k) => (rows[at] = read[k]));
    return rows;
  }

  private total(): number {
    return Object.values(this.s.open.counts).reduce((a, b) => a + b, 0);
  }

  private checkRoom(adding: number): void {
    const total = this.total();
    if (adding > 0 && total + adding > this.s.maxEvents) {
      throw new StoreTooLargeError(tooLargeMessage(this.dir, total + adding, this.s.maxEvents));
    }
  }

  private async applyEnqueue(calls: QueuedEvent[][], tx: string | undefined): Promise<Applied<EnqueueResult>> {
    const { rows, values } = await insertEvents(this.s.queue, calls, {
      total: this.total(),
      max: this.s.maxEvents,
      check: (adding) => this.checkRoom(adding),
    });
    if (rows.length === 0) return { values, durable: this.settled() };
    const durable = this.logEvents(rows, [], tx);
    this.trackEvents(rows, rows.map(() => undefined), [], tx, durable);
    this.maybeCompact();
    return { values, durable };
  }

  /** Logs new row images and history; resolves once they are durable. */
  private logEvents(rows: QueuedEvent[], hist: HistoryEntry[], tx: string | undefined): Promise<void> {
    const records: LogRecord[] = [];
    if (rows.length) records.push({ k: "ev", rows, ...(tx ? { tx } : {}) });
    if (hist.length) records.push({ k: "hist", rows: hist, ...(tx ? { tx } : {}) });
    return this.log(records);
  }

  /**
   * Updates memory for rows written to Dexie. `befores` are the persisted images; a leased row
   * is accounted from its leased image, and writing it ends the lease.
   */
  private trackEvents(
    rows: QueuedEvent[],
    befores: (QueuedEvent | undefined)[],
    hist: HistoryEntry[],
    tx: string | undefined,
    durable: Promise<void>,
  ): void {
    const undo = tx !== undefined ? this.undo : undefined;
    rows.forEach((r, i) => {
      const before = befores[i];
      const lease = this.leases.get(r.id);
      // a leased row was counted as processing (its whole leased image is not needed for that)
      this.s.open.track(before && lease ? { id: before.id, entity: before.entity, entityId: before.entityId, status: "processing" } : before, r);
      if (lease) {
        undo?.lease(r.id, lease);
        this.leases.delete(r.id);
      }
      undo?.event(r.id, before);
    });
    for (const h of hist) {
      this.s.history.add(h);
      undo?.historyEntry(h);
    }
    this.fresh.track(rows, durable);
  }

  private async writeCache(w: { put: CacheEntry[] } | { del: string[] }, tx: string | undefined): Promise<{ value: void; durable: Promise<void> }> {
    const record = await cacheWrite(this.s, w, this.group(tx));
    return { value: undefined, durable: record ? this.log([record]) : this.settled() };
  }

  /** The open atomic group a write belongs to, if any. */
  private group(tx: string | undefined): { undo?: UndoLog; tx?: string } {
    return tx !== undefined && this.undo ? { undo: this.undo, tx } : {};
  }

  /** For writes that changed nothing: durable once what they saw is durable. */
  private settled(): Promise<void> {
    return this.s.wal ? this.s.wal.sync() : Promise.resolve();
  }

  /**
   * Appends records to the log; resolves once they are durable. Records of an open atomic group
   * count only with their commit marker, so they resolve at once (unless more than
   * GROUP_BACKLOG_BYTES wait for the disk, which bounds memory): the group's commit waits for
   * them (the log is written in order) and a failed write fails the commit.
   */
  private log(records: LogRecord[]): Promise<void> {
    const wal = this.s.wal!;
    const p = wal.append(records.map(encodeRecord));
    p.catch((error: unknown) => {
      this.broken ??= error;
    });
    const inGroup = records.every((r) => r.k !== "commit" && r.k !== "abort" && "tx" in r && r.tx !== undefined);
    return inGroup && wal.backlog <= GROUP_BACKLOG_BYTES ? Promise.resolve() : p;
  }

  private maybeCompact(): void {
    const wal = this.s.wal;
    if (!wal || this.s.part || this.compaction || this.undo || this.broken || this.closed) return;
    if (wal.size < Math.max(this.s.compactMinBytes, this.s.snapshotBytes)) return;
    this.startCompaction().catch((error: unknown) => {
      this.s.warnings.push(`compaction of ${this.dir} failed: ${(error as Error).message}`);
    });
  }

  /**
   * Runs a compaction (writer/live-compaction.ts): its first and last phase are write jobs, the snapshot is
   * written between them while writes go on. Skipped if an atomic group is open when it would
   * begin. A failure once the new generation is being installed leaves memory and the files
   * out of step: the store then refuses further writes (a reopen recovers).
   */
  private startCompaction(): Promise<void> {
    const run = (async () => {
      const start = await this.writes.submit(undefined, async () => ({
        value: this.undo || this.broken ? undefined : await beginCompaction(this.s),
        durable: Promise.resolve(),
      }));
      if (!start) return;
      const snapshot = await writeCompactionSnapshot(this.s, start);
      await this.writes.submit(undefined, async () => {
        await finishCompaction(this.s, start, snapshot).catch((error: unknown) => {
          this.broken ??= error;
          throw error;
        });
        return { value: undefined, durable: this.settled() };
      });
    })();
    this.compaction = run.finally(() => {
      this.compaction = undefined;
    });
    return this.compaction;
  }
}
