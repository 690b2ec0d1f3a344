/**
 * The writes of a DexieQueueStore: enqueue, put, claim, update, atomic groups and cache writes, run
 * one at a time through a WriteSerializer so that Dexie (or a part's plain rows), the in-memory
 * indexes and the log (store-log.ts) see the same sequence. A write's new images are logged as
 * soon as they are computed, so the log's sync overlaps fake-indexeddb's work, and its caller is
 * answered once they are durable. After each write the log may have grown enough to compact
 * (live-compaction.ts). The store checks that it may be written before it calls in here.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { Dexie } from "dexie";
import type { QueuedEvent } from "../../../core/event.ts";
import type { CacheEntry, ClaimOptions, EnqueueResult, EventChange, HistoryEntry } from "../../../core/ports.ts";
import { EventNotFoundError, MudsyncError, StoreTooLargeError, UsageError } from "../../../errors.ts";
import { applyChanges } from "../events/apply-changes.ts";
import { insertEvents } from "../events/enqueue-insert.ts";
import type { MemoryTable } from "../events/memory-table.ts";
import { RecentRows } from "../events/recent-rows.ts";
import { assertStorable } from "../events/storable-event.ts";
import { tooLargeMessage } from "../log/snapshot-reader.ts";
import type { StoreInternals } from "../store-internals.ts";
import { cacheWrite } from "./cache-writes.ts";
import { claimEvents } from "./claim-events.ts";
import { DurabilityWatch } from "./durability-watch.ts";
import type { LiveCompaction } from "./live-compaction.ts";
import type { StoreLog } from "./store-log.ts";
import { UndoLog } from "./undo-log.ts";
import type { Applied, WriteSerializer } from "./write-serializer.ts";

/** What a write job that stores rows computed: its caller's value, the new and old images, the history. */
interface RowWrite<T> {
  value: T;
  rows: QueuedEvent[];
  befores: (QueuedEvent | undefined)[];
  hist: HistoryEntry[];
  /** the new images are the store's objects (built by it, not the caller's) */
  own?: boolean;
}

export class StoreWriter {
  /** persisted images the writer saw last (a listed page, rows it updated), to skip reading them again */
  readonly recent: RecentRows;
  private readonly txScope = new AsyncLocalStorage<string>();
  /** the open atomic group's before-images, while one is open */
  private undo: UndoLog | undefined;
  /** open events whose last write is not yet durable */
  private readonly undurable = new DurabilityWatch();

  constructor(
    private readonly state: StoreInternals,
    private readonly writes: WriteSerializer,
    private readonly log: StoreLog,
    private readonly compaction: LiveCompaction,
  ) {
    this.recent = new RecentRows(writes);
  }

  /** An atomic group is open (no compaction begins meanwhile). */
  get groupOpen(): boolean {
    return this.undo !== undefined;
  }

  async enqueue(events: QueuedEvent[]): Promise<EnqueueResult> {
    events.forEach((e, i) => assertStorable(e, `event ${i}`));
    if (events.length === 0) return { inserted: [], existing: [] };
    const tx = this.txScope.getStore();
    return this.writes.submitMerged(tx, "enqueue", events, (batches) => this.applyEnqueue(batches, tx));
  }

  async put(events: QueuedEvent[]): Promise<void> {
    events.forEach((e, i) => assertStorable(e, `event ${i}`));
    if (events.length === 0) return;
    await this.writeRows(async () => {
      // the last image of an id wins, as in a sequence of puts
      const rows = [...new Map(events.map((e) => [e.id, e])).values()];
      const befores = await this.state.queue.events.bulkGet(rows.map((r) => r.id));
      this.checkRoom(befores.filter((b) => b === undefined).length);
      // the new images are the caller's objects: not kept as the store's own
      this.recent.forget(rows.map((r) => r.id));
      return { value: undefined, rows, befores, hist: [] };
    });
  }

  async claim(options: ClaimOptions): Promise<QueuedEvent[]> {
    if (!Number.isInteger(options.limit) || options.limit < 0) throw new UsageError(`claim limit must be an integer >= 0, got ${options.limit}`);
    if (!(options.leaseMs > 0)) throw new UsageError(`claim leaseMs must be > 0, got ${options.leaseMs}`);
    return this.write(async (tx) => {
      const claimed = await claimEvents(this.state, options, this.group(tx));
      if (!claimed) return { value: [], durable: Promise.resolve() };
      this.log.leases(claimed.record);
      // hand out only what a crash keeps: wait if a claimed event's last write is not yet durable
      return { value: claimed.events, durable: this.undurable.of(claimed.record.ids) };
    });
  }

  async update(changes: EventChange[]): Promise<{ lost: string[] }> {
    if (changes.length === 0) return { lost: [] };
    return this.writeRows(async () => {
      const ids = [...new Set(changes.map((c) => c.id))];
      const { persisted, seen: current } = await this.state.leases.rowsOf(ids, (unleased) => this.readRows(unleased));
      const missing = changes.find((c) => !current.has(c.id) && c.expectOwner === undefined);
      if (missing) throw new EventNotFoundError(missing.id);
      const { changed, rows, hist, lost } = applyChanges(ids, current, changes, this.state.clock.now());
      if (rows.length === 0) return { value: { lost }, rows: [], befores: [], hist: [] };
      return { value: { lost }, rows, befores: changed.map((id) => persisted.get(id)), hist, own: true };
    });
  }

  /** See DexieQueueStore.atomic. */
  async atomic<T>(fn: () => Promise<T>): Promise<T> {
    if (this.txScope.getStore() !== undefined) return fn();
    const tx = `${randomBytes(6).toString("hex")}`;
    // a group never runs across a compaction: its rows could reach the snapshot and then abort
    for (let started = false; !started; ) {
      await this.compaction.running?.catch(() => undefined);
      started = await this.writes.submit(undefined, async () => {
        if (this.compaction.running) return { value: false, durable: Promise.resolve() };
        this.writes.setOwner(tx);
        this.undo = new UndoLog();
        return { value: true, durable: this.log.settled() };
      });
    }
    try {
      const result = await this.txScope.run(tx, fn);
      await this.writes.submit(tx, async () => ({ value: undefined, durable: this.log.append([{ k: "commit", tx }]) }));
      return result;
    } catch (error) {
      await this.writes.submit(tx, async () => {
        this.recent.clear();
        await this.undo?.rollback(this.state).catch((e: unknown) => {
          // memory and Dexie may now disagree with the log: refuse further writes; reopen recovers
          this.state.broken = e;
          throw e;
        });
        return { value: undefined, durable: this.log.append([{ k: "abort", tx }]) };
      }).catch(() => undefined);
      throw error;
    } finally {
      this.undo = undefined;
      this.writes.setOwner(undefined);
      this.compaction.maybeStart();
    }
  }

  /** Writes cache entries (or deletes them by key), logged and durable like event writes. */
  writeCache(change: { put: CacheEntry[] } | { del: string[] }): Promise<void> {
    return this.write(async (tx) => {
      const record = await cacheWrite(this.state, change, this.group(tx));
      return { value: undefined, durable: record ? this.log.append([record]) : this.log.settled() };
    });
  }

  /** Resolves once every write submitted so far has been applied and is durable (never rejects). */
  async drained(): Promise<void> {
    await this.writes.submit(undefined, async () => ({ value: undefined, durable: this.log.settled() })).catch(() => undefined);
  }

  /** Runs one write job (inside the caller's atomic group, if any). */
  private write<T>(apply: (tx: string | undefined) => Promise<{ value: T; durable: Promise<void> }>): Promise<T> {
    const tx = this.txScope.getStore();
    return this.writes.submit(tx, async () => {
      const r = await apply(tx);
      this.compaction.maybeStart();
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
  private writeRows<T>(fn: () => Promise<RowWrite<T>>): Promise<T> {
    const { state } = this;
    const memory = state.memory;
    if (memory) return this.writeMemoryRows(memory, fn);
    return this.write(async (tx) => {
      let durable: Promise<void> | undefined;
      const r = await state.queue
        .transaction("rw", state.queue.events, async () => {
          const r = await fn();
          if (r.rows.length === 0 && r.hist.length === 0) return r;
          // started outside Dexie's transaction zone: the log's I/O is not part of the transaction
          durable = Dexie.ignoreTransaction(() => this.log.events(r.rows, r.hist, tx));
          if (r.rows.length > 0) await state.queue.events.bulkPut(r.rows);
          return r;
        })
        .catch((error: unknown) => {
          if (durable && tx === undefined) state.broken ??= error;
          throw error;
        });
      if (!durable) return { value: r.value, durable: this.log.settled() };
      this.trackEvents(r.rows, r.befores, r.hist, tx, durable);
      if (r.own) this.recent.wrote(r.rows);
      return { value: r.value, durable };
    });
  }

  /**
   * writeRows for a part (rows held as plain objects, MemoryTable): the new images are logged
   * and then stored as they are, which is safe because they are the store's own (update builds
   * them; put, the one write of the caller's objects, is refused in a part).
   */
  private writeMemoryRows<T>(memory: MemoryTable, fn: () => Promise<RowWrite<T>>): Promise<T> {
    return this.write(async (tx) => {
      const r = await fn();
      if (r.rows.length === 0 && r.hist.length === 0) return { value: r.value, durable: this.log.settled() };
      if (r.rows.length > 0 && !r.own) throw new MudsyncError(`store ${this.state.dir}: a part stores only images it built`);
      const durable = this.log.events(r.rows, r.hist, tx);
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
    const read = this.state.memory ? this.state.memory.peekMany(want) : await this.state.queue.events.bulkGet(want);
    missing.forEach((at, k) => (rows[at] = read[k]));
    return rows;
  }

  private total(): number {
    return Object.values(this.state.open.counts).reduce((a, b) => a + b, 0);
  }

  private checkRoom(adding: number): void {
    const total = this.total();
    if (adding > 0 && total + adding > this.state.maxEvents) {
      throw new StoreTooLargeError(tooLargeMessage(this.state.dir, total + adding, this.state.maxEvents));
    }
  }

  private async applyEnqueue(calls: QueuedEvent[][], tx: string | undefined): Promise<Applied<EnqueueResult>> {
    const { rows, values } = await insertEvents(this.state.queue, calls, {
      total: this.total(),
      max: this.state.maxEvents,
      check: (adding) => this.checkRoom(adding),
    });
    if (rows.length === 0) return { values, durable: this.log.settled() };
    const durable = this.log.events(rows, [], tx);
    this.trackEvents(rows, rows.map(() => undefined), [], tx, durable);
    this.compaction.maybeStart();
    return { values, durable };
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
    const { state } = this;
    const undo = tx !== undefined ? this.undo : undefined;
    rows.forEach((r, i) => {
      const before = befores[i];
      const lease = state.leases.get(r.id);
      // a leased row was counted as processing (its whole leased image is not needed for that)
      state.open.track(before && lease ? { id: before.id, entity: before.entity, entityId: before.entityId, status: "processing" } : before, r);
      if (lease) {
        undo?.lease(r.id, lease);
        state.leases.delete(r.id);
      }
      undo?.event(r.id, before);
    });
    for (const h of hist) {
      state.history.add(h);
      undo?.historyEntry(h);
    }
    this.undurable.track(rows, durable);
  }

  /** The open atomic group a write belongs to, if any. */
  private group(tx: string | undefined): { undo?: UndoLog; tx?: string } {
    return tx !== undefined && this.undo ? { undo: this.undo, tx } : {};
  }
}
