/**
 * Compaction: moves the store to generation gen+1 (snapshot of the whole state, a new log,
 * older files deleted) in three phases, so that writes wait only for the short first and last:
 *
 * 1. begin (a write job): the log is synced; the snapshot will stand for the log up to here
 *    (`covered` bytes). The history is frozen as it is now.
 * 2. write (in the background, writes go on in the old log): the snapshot's temp file from the
 *    rows in Dexie (read in primary-key pages), the frozen history and the cache. A row written
 *    meanwhile may be read with its newer image: the log after `covered` holds that image too,
 *    so replaying it over the snapshot gives the same row. History entries are not images (a
 *    replay appends them), hence the frozen copy.
 * 3. finish (a write job): the log is synced again; log gen+1 = the writer's live leases (for
 *    read-only opens) + the old log's bytes after `covered`; it is renamed into place, then the
 *    snapshot (log/generation-files.ts installGeneration), the writer switches to the new log and
 *    the older generation's files are deleted.
 *
 * Atomic groups do not run across a compaction (the writer waits for one to end before starting
 * a group, and none begins inside a group): an aborted group's rows must never reach a snapshot.
 *
 * LiveCompaction runs them for a store: one at a time, when the log has outgrown the snapshot
 * (checked after every write) or when asked.
 */
import { open } from "node:fs/promises";
import type { FrozenHistory } from "../events/event-history.ts";
import { encodeRecord, type LeaseRecord, type LogRecord } from "../log/log-record.ts";
import { installGeneration, removeFiles, type SnapshotSource, snapshotPath, walPath, writeSnapshotTemp } from "../log/generation-files.ts";
import type { StoreInternals } from "../store-internals.ts";
import { WalWriter } from "../log/wal-writer.ts";
import type { StoreLog } from "./store-log.ts";
import type { WriteSerializer } from "./write-serializer.ts";

const CHUNK = 1000;

/** the log is compacted into a new snapshot once it is larger than this and than the snapshot */
export const COMPACT_MIN_BYTES = 64 * 1024 * 1024;

export interface CompactionStart {
  gen: number;
  /** bytes of the current log the snapshot stands for */
  covered: number;
  history: FrozenHistory;
}

function snapshotSource(state: StoreInternals, history: FrozenHistory): SnapshotSource {
  const { queue, cacheDb, open: openEvents } = state;
  // read when each record is made: a key conversion sets the cipher just before it compacts
  const seal = (r: LogRecord): LogRecord => (state.cipher ? state.cipher.seal(r) : r);
  return {
    counts: async () => ({
      events: Object.values(openEvents.counts).reduce((a, b) => a + b, 0),
      history: history.size,
      cache: await cacheDb.cache.count(),
    }),
    chunks: async function* () {
      let last: string | undefined;
      for (;;) {
        const coll = last === undefined ? queue.events.toCollection() : queue.events.where(":id").above(last);
        const rows = await coll.limit(CHUNK).toArray();
        if (rows.length) yield seal({ k: "ev", rows });
        if (rows.length < CHUNK) break;
        last = rows[rows.length - 1]!.id;
      }
      for (const rows of history.chunks(CHUNK)) yield { k: "hist", rows } as LogRecord;
      const cache = await cacheDb.cache.toArray();
      for (let i = 0; i < cache.length; i += CHUNK) yield seal({ k: "cache", rows: cache.slice(i, i + CHUNK) });
    },
  };
}

/** Phase 1 (a write job). */
export async function beginCompaction(state: StoreInternals): Promise<CompactionStart> {
  const wal = state.wal!;
  await wal.sync();
  return { gen: state.gen + 1, covered: wal.size, history: state.history.freeze() };
}

/** Phase 2 (writes go on): the snapshot's temp file. */
export function writeCompactionSnapshot(state: StoreInternals, start: CompactionStart): Promise<{ tmp: string; bytes: number }> {
  return writeSnapshotTemp(state.queueDir, start.gen, snapshotSource(state, start.history));
}

/** Phase 3 (a write job): the new generation becomes current and the writer moves to its log. */
export async function finishCompaction(state: StoreInternals, start: CompactionStart, snapshot: { tmp: string; bytes: number }): Promise<void> {
  const old = state.wal!;
  await old.sync();
  const oldGen = state.gen;
  const lines = leaseRecords(state).map(encodeRecord);
  const tail = await readRange(old.file, start.covered, old.size);
  if (tail.length) lines.push(tail);
  await installGeneration(state.queueDir, start.gen, snapshot.tmp, lines);
  state.wal = await WalWriter.open(walPath(state.queueDir, start.gen));
  state.gen = start.gen;
  state.snapshotBytes = snapshot.bytes;
  await old.close();
  const oldFiles = [walPath(state.queueDir, oldGen)];
  if (oldGen > 0) oldFiles.push(snapshotPath(state.queueDir, oldGen));
  await removeFiles(oldFiles);
}

/** The writer's live leases, one record per (until, owner): the snapshot holds rows as persisted. */
function leaseRecords(state: StoreInternals): LeaseRecord[] {
  const leases = new Map<string, LeaseRecord>();
  for (const l of state.leases.values()) {
    const key = `${l.until} ${l.owner}`;
    let r = leases.get(key);
    if (!r) leases.set(key, (r = { k: "lease", owner: l.owner, until: l.until, ids: [] }));
    r.ids.push(l.row.id);
  }
  return [...leases.values()];
}

async function readRange(file: string, from: number, to: number): Promise<Buffer> {
  const length = to - from;
  if (length <= 0) return Buffer.alloc(0);
  const fh = await open(file, "r");
  try {
    const buf = Buffer.allocUnsafe(length);
    let off = 0;
    while (off < length) {
      const { bytesRead } = await fh.read(buf, off, length - off, from + off);
      if (bytesRead === 0) throw new Error(`${file} ends at byte ${from + off}, expected ${to} bytes`);
      off += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}

/** The compactions of one store, run while its writes go on. */
export class LiveCompaction {
  private current: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly state: StoreInternals,
    private readonly writes: WriteSerializer,
    private readonly log: StoreLog,
    /** an atomic group is open: no compaction begins inside one */
    private readonly groupOpen: () => boolean,
  ) {}

  /** the compaction running, if any: most of it runs while writes go on */
  get running(): Promise<void> | undefined {
    return this.current;
  }

  /** No compaction starts from now on (the store is closing). */
  stop(): void {
    this.stopped = true;
  }

  /** Starts a compaction when the log has grown past both COMPACT_MIN_BYTES (or the store's setting) and the snapshot. */
  maybeStart(): void {
    const { state } = this;
    const wal = state.wal;
    if (!wal || state.part || this.current || this.groupOpen() || state.broken || this.stopped) return;
    if (wal.size < Math.max(state.compactMinBytes, state.snapshotBytes)) return;
    this.start().catch((error: unknown) => {
      state.warnings.push(`compaction of ${state.dir} failed: ${(error as Error).message}`);
    });
  }

  /**
   * Runs a compaction: its first and last phase are write jobs, the snapshot is written between
   * them while writes go on. Skipped if an atomic group is open when it would begin. A failure
   * once the new generation is being installed leaves memory and the files out of step: the
   * store then refuses further writes (a reopen recovers).
   */
  start(): Promise<void> {
    const { state } = this;
    const run = (async () => {
      const start = await this.writes.submit(undefined, async () => ({
        value: this.groupOpen() || state.broken ? undefined : await beginCompaction(state),
        durable: Promise.resolve(),
      }));
      if (!start) return;
      const snapshot = await writeCompactionSnapshot(state, start);
      await this.writes.submit(undefined, async () => {
        await finishCompaction(state, start, snapshot).catch((error: unknown) => {
          state.broken ??= error;
          throw error;
        });
        return { value: undefined, durable: this.log.settled() };
      });
    })();
    this.current = run.finally(() => {
      this.current = undefined;
    });
    return this.current;
  }
}
