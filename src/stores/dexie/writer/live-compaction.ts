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
 * Atomic groups do not run across a compaction (DexieQueueStore waits for one to end before
 * starting a group, and does not begin one inside a group): an aborted group's rows must never
 * reach a snapshot.
 */
import { open } from "node:fs/promises";
import type { FrozenHistory } from "../events/event-history.ts";
import { encodeRecord, type LeaseRecord, type LogRecord } from "../log/log-record.ts";
import { installGeneration, removeFiles, type SnapshotSource, snapshotPath, walPath, writeSnapshotTemp } from "../log/generation-files.ts";
import type { StoreInternals } from "../store-internals.ts";
import { WalWriter } from "../log/wal-writer.ts";

const CHUNK = 1000;

export interface CompactionStart {
  gen: number;
  /** bytes of the current log the snapshot stands for */
  covered: number;
  history: FrozenHistory;
}

function snapshotSource(s: StoreInternals, history: FrozenHistory): SnapshotSource {
  const { queue, cacheDb, open: openEvents } = s;
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
        if (rows.length) yield { k: "ev", rows } as LogRecord;
        if (rows.length < CHUNK) break;
        last = rows[rows.length - 1]!.id;
      }
      for (const rows of history.chunks(CHUNK)) yield { k: "hist", rows } as LogRecord;
      const cache = await cacheDb.cache.toArray();
      for (let i = 0; i < cache.length; i += CHUNK) yield { k: "cache", rows: cache.slice(i, i + CHUNK) } as LogRecord;
    },
  };
}

/** Phase 1 (a write job). */
export async function beginCompaction(s: StoreInternals): Promise<CompactionStart> {
  const wal = s.wal!;
  await wal.sync();
  return { gen: s.gen + 1, covered: wal.size, history: s.history.freeze() };
}

/** Phase 2 (writes go on): the snapshot's temp file. */
export function writeCompactionSnapshot(s: StoreInternals, start: CompactionStart): Promise<{ tmp: string; bytes: number }> {
  return writeSnapshotTemp(s.queueDir, start.gen, snapshotSource(s, start.history));
}

/** Phase 3 (a write job): the new generation becomes current and the writer moves to its log. */
export async function finishCompaction(s: StoreInternals, start: CompactionStart, snapshot: { tmp: string; bytes: number }): Promise<void> {
  const old = s.wal!;
  await old.sync();
  const oldGen = s.gen;
  const lines = leaseRecords(s).map(encodeRecord);
  const tail = await readRange(old.file, start.covered, old.size);
  if (tail.length) lines.push(tail);
  await installGeneration(s.queueDir, start.gen, snapshot.tmp, lines);
  s.wal = await WalWriter.open(walPath(s.queueDir, start.gen));
  s.gen = start.gen;
  s.snapshotBytes = snapshot.bytes;
  await old.close();
  const oldFiles = [walPath(s.queueDir, oldGen)];
  if (oldGen > 0) oldFiles.push(snapshotPath(s.queueDir, oldGen));
  await removeFiles(oldFiles);
}

/** The writer's live leases, one record per (until, owner): the snapshot holds rows as persisted. */
function leaseRecords(s: StoreInternals): LeaseRecord[] {
  const leases = new Map<string, LeaseRecord>();
  for (const l of s.leases.values()) {
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
