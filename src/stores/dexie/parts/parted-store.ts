/**
 * A local store drained one part at a time (its events split by row, events/row-partition.ts), so
 * that a drain holds at most one part's events in memory however large the queue: memory flat in
 * queue size, for the price of a pass over the store's files to split them, and one to compact
 * them at the end.
 *
 * It takes the store's lock for its whole life, splits the store into one scratch file per part
 * (part-files.ts) and keeps one part open, loaded from its file. `claim` claims from that part;
 * once the part has nothing due and nothing of it is still held (claimed and not yet written
 * back), it closes the part and opens the next: first the parts not yet visited, then visited ones
 * whose retries or leases have come due. Writes (update, release) and reads (get, supersededBy)
 * go to the open part, which holds every event the engine holds; they reach the store's log as any
 * writer's do. A part's file is rewritten from its rows when it is left, for a later visit and for
 * the compaction on close, which builds the new snapshot from the part files one at a time
 * (compact-from-parts.ts). What needs the whole store (enqueue, put, list, scan, history) is
 * refused. The part files are deleted on close (after a crash, by the next writer: they are
 * leftovers).
 *
 * counts() is exact: parts not yet visited are loaded to count them (as on a run stopped early).
 * estimatedTotal() answers from the parts loaded so far, for progress.
 */
import type { EventStatus, QueuedEvent } from "../../../core/event.ts";
import {
  type ClaimOptions,
  type Clock,
  type EnqueueResult,
  type EventChange,
  type HistoryEntry,
  type ListPage,
  type QueueStore,
  type StoreCapabilities,
  systemClock,
} from "../../../core/ports.ts";
import { UsageError } from "../../../errors.ts";
import type { DexieQueueStore } from "../dexie-queue-store.ts";
import { acquireLock, releaseLock } from "../lock-file.ts";
import { COMPACT_ON_OPEN_BYTES, openDexieStorePart } from "../open-dexie-store.ts";
import { compactFromParts } from "./compact-from-parts.ts";
import { currentGeneration, ensureQueueDir, queueDirOf, removeFiles } from "../log/generation-files.ts";
import { rewritePartFile, splitStore } from "./part-files.ts";
import { DEFAULT_MAX_EVENTS } from "../store-limits.ts";
import type { RecordCipher } from "../crypto/record-cipher.ts";
import { type StoreKeys, storeSealing } from "../store-encryption.ts";

export interface OpenPartedStoreOptions {
  dir: string;
  parts: number;
  /** recorded in the lock */
  command?: string;
  maxEvents?: number;
  clock?: Clock;
  /** compact on close once the log is this large (and larger than half the snapshot); default as on a writer's open */
  compactMinBytes?: number;
  /** the keys to open an encrypted store with (store-encryption.ts) */
  keys?: StoreKeys;
}

/** What is known of a part that is not open. */
interface PartState {
  counts: Record<EventStatus, number>;
  /** see DexieQueueStore.dueAt */
  dueAt: number | undefined;
}

export class PartedStore implements QueueStore {
  readonly capabilities: StoreCapabilities = { durable: true, shared: false, readOnly: false };
  readonly warnings: string[];
  /** parts opened so far (a part reopened for its retries counts again) */
  opened = 0;
  private readonly seen: (PartState | undefined)[];
  /** open events of each part when it was first loaded */
  private readonly openAtLoad: (number | undefined)[];
  /** ids claimed from the open part and not yet written back */
  private readonly held = new Set<string>();
  private closed: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    private current: DexieQueueStore,
    private index: number,
    /** the open options with their defaults filled in */
    private readonly settings: Required<Pick<OpenPartedStoreOptions, "parts" | "maxEvents" | "compactMinBytes">> & { clock: Clock; cipher?: RecordCipher },
    warnings: string[],
    private readonly files: string[],
  ) {
    this.seen = new Array<PartState | undefined>(settings.parts).fill(undefined);
    this.openAtLoad = new Array<number | undefined>(settings.parts).fill(undefined);
    this.noteLoaded(index, current);
    this.warnings = warnings;
  }

  static async open(opts: OpenPartedStoreOptions): Promise<PartedStore> {
    if (!Number.isInteger(opts.parts) || opts.parts < 1) throw new UsageError(`parts must be an integer >= 1, got ${opts.parts}`);
    const queueDir = queueDirOf(opts.dir);
    // before the lock: a missing or wrong key changes nothing (a new store is never opened in parts)
    const sealing = await storeSealing(queueDir, opts.dir, opts.keys ?? {}, { write: false });
    await ensureQueueDir(queueDir);
    const lock = await acquireLock(queueDir, { pid: process.pid, startedAt: Date.now(), command: opts.command ?? process.argv.slice(1).join(" ") });
    const settings = {
      parts: opts.parts,
      maxEvents: opts.maxEvents ?? DEFAULT_MAX_EVENTS,
      clock: opts.clock ?? systemClock,
      compactMinBytes: opts.compactMinBytes ?? COMPACT_ON_OPEN_BYTES,
      ...(sealing.cipher ? { cipher: sealing.cipher } : {}),
    };
    let files: string[] = [];
    try {
      const g = await currentGeneration(queueDir);
      await removeFiles(g.leftovers);
      const split = await splitStore(queueDir, g, opts.parts, { maxEvents: settings.maxEvents, dir: opts.dir, cipher: settings.cipher });
      files = split.files;
      const first = await openPart(opts.dir, 0, files, settings);
      const notes = [...(sealing.warning ? [sealing.warning] : []), ...(lock.note ? [lock.note] : []), ...split.warnings, ...first.warnings];
      const store = new PartedStore(first.dir, first, 0, settings, notes, files);
      store.opened = 1;
      return store;
    } catch (error) {
      await removeFiles(files);
      await releaseLock(queueDir);
      throw error;
    }
  }

  get parts(): number {
    return this.settings.parts;
  }

  /** The part open now (0-based). */
  get openPart(): number {
    return this.index;
  }

  async claim(options: ClaimOptions): Promise<QueuedEvent[]> {
    this.assertOpen();
    for (;;) {
      const got = await this.current.claim(options);
      if (got.length > 0) {
        for (const e of got) this.held.add(e.id);
        return got;
      }
      // events of this part are still out: stay until they are written back
      if (this.held.size > 0) return [];
      const next = this.nextPart(options.now ?? this.settings.clock.now());
      if (next === undefined) return [];
      await this.switchTo(next);
    }
  }

  async update(changes: EventChange[]): Promise<{ lost: string[] }> {
    this.assertOpen();
    const r = await this.current.update(changes);
    for (const c of changes) this.held.delete(c.id);
    return r;
  }

  async release(ids: string[], owner: string): Promise<void> {
    this.assertOpen();
    await this.current.release(ids, owner);
    for (const id of ids) this.held.delete(id);
  }

  get(id: string): Promise<QueuedEvent | undefined> {
    this.assertOpen();
    return this.current.get(id);
  }

  getMany(ids: string[]): Promise<(QueuedEvent | undefined)[]> {
    this.assertOpen();
    return this.current.getMany(ids);
  }

  supersededBy(event: QueuedEvent): Promise<string | undefined> {
    this.assertOpen();
    return this.current.supersededBy(event);
  }

  /** Exact counts of the whole store; parts never opened are loaded (one at a time) to count them. */
  async counts(): Promise<Record<EventStatus, number>> {
    this.assertOpen();
    const total = await this.current.counts();
    for (let i = 0; i < this.settings.parts; i++) {
      if (i === this.index) continue;
      let state = this.seen[i];
      if (!state) {
        const part = await openPart(this.dir, i, this.files, this.settings);
        this.opened++;
        try {
          state = this.seen[i] = { counts: await part.counts(), dueAt: part.dueAt() };
          this.noteLoaded(i, part);
        } finally {
          await part.close();
        }
      }
      for (const [s, n] of Object.entries(state.counts)) total[s as EventStatus] += n;
    }
    return total;
  }

  /**
   * Events to settle, for progress: those open when each part seen so far was first loaded, and
   * for each part not yet loaded their average. Exact once every part was loaded.
   */
  estimatedTotal(): number {
    const loaded = this.openAtLoad.filter((n) => n !== undefined);
    const sum = loaded.reduce((a, b) => a + b, 0);
    return Math.round(sum + (sum / loaded.length) * (this.settings.parts - loaded.length));
  }

  enqueue(): Promise<EnqueueResult> {
    return this.refuse("enqueue");
  }

  put(): Promise<void> {
    return this.refuse("put");
  }

  list(): Promise<ListPage> {
    return this.refuse("list");
  }

  history(): Promise<HistoryEntry[]> {
    return this.refuse("history");
  }

  // eslint-disable-next-line require-yield
  async *scan(): AsyncIterable<QueuedEvent[]> {
    await this.refuse("scan");
  }

  /**
   * Closes the open part and, when the log has grown large next to the snapshot (the rule of a
   * writer's open), compacts the store from the part files (compact-from-parts.ts); then deletes
   * the part files and releases the lock. A failed compaction leaves the store as it was and
   * says so in `warnings`. Safe to call more than once.
   */
  close(): Promise<void> {
    this.closed ??= (async () => {
      const queueDir = queueDirOf(this.dir);
      try {
        let events: number | undefined;
        if (this.current.healthy) {
          events = Object.values(await this.counts()).reduce((a, b) => a + b, 0);
          // as persisted: leases left by a run that failed end with the process, as in any store
          await rewritePartFile(this.files[this.index]!, this.current.persistedPages(1000), this.settings.cipher);
        }
        await this.current.close();
        const g = await currentGeneration(queueDir);
        if (events !== undefined && g.walBytes >= this.settings.compactMinBytes && g.walBytes > g.snapshotBytes / 2) {
          await compactFromParts(queueDir, g, this.files, events, { maxEvents: this.settings.maxEvents, dir: this.dir, cipher: this.settings.cipher }).catch((error: unknown) => {
            this.warnings.push(`compaction of ${this.dir} after the drain failed (the store is as it was): ${(error as Error).message}`);
          });
        }
      } finally {
        await removeFiles(this.files);
        await releaseLock(queueDir);
      }
    })();
    return this.closed;
  }

  /** The next part to open: one never opened, else one whose work has come due; undefined if none. */
  private nextPart(now: number): number | undefined {
    for (let k = 1; k < this.settings.parts; k++) {
      const i = (this.index + k) % this.settings.parts;
      if (this.seen[i] === undefined) return i;
    }
    for (let k = 1; k < this.settings.parts; k++) {
      const i = (this.index + k) % this.settings.parts;
      const due = this.seen[i]!.dueAt;
      if (due !== undefined && due <= now) return i;
    }
    return undefined;
  }

  private async switchTo(next: number): Promise<void> {
    const leaving = this.current;
    const state: PartState = { counts: await leaving.counts(), dueAt: leaving.dueAt() };
    // its file must hold its rows as they are now: for a later visit, and for the compaction on close
    await rewritePartFile(this.files[this.index]!, leaving.persistedPages(1000), this.settings.cipher);
    this.seen[this.index] = state;
    await leaving.close();
    this.current = await openPart(this.dir, next, this.files, this.settings);
    this.index = next;
    this.seen[next] = undefined;
    this.noteLoaded(next, this.current);
    this.opened++;
    // a later part's own notes (records of an unfinished atomic write it ignored) repeat the first's
  }

  private noteLoaded(index: number, part: DexieQueueStore): void {
    if (this.openAtLoad[index] !== undefined) return;
    const c = part.openCounts();
    this.openAtLoad[index] = c.pending + c.failed + c.processing;
  }

  private refuse(what: string): Promise<never> {
    return Promise.reject(new UsageError(`store ${this.dir} is open in ${this.settings.parts} parts for a drain: ${what} needs the whole store`));
  }

  private assertOpen(): void {
    if (this.closed) throw new UsageError(`store ${this.dir} is closed`);
  }
}

function openPart(dir: string, index: number, files: string[], settings: { parts: number; maxEvents: number; clock: Clock; cipher?: RecordCipher }): Promise<DexieQueueStore> {
  const { parts, maxEvents, clock, cipher } = settings;
  return openDexieStorePart({ dir, part: { index, count: parts }, file: files[index]!, maxEvents, clock, ...(cipher ? { cipher } : {}) });
}
