/**
 * Compaction: writes the whole current state as snapshot gen+1 (rows read from Dexie in
 * primary-key pages, history and cache from memory and Dexie), starts log gen+1 and deletes the
 * older generation. Runs as a write job, so nothing changes while the snapshot is written. The
 * snapshot holds rows as persisted; the writer's live leases are logged again at the head of the
 * new log, so read-only opens keep seeing them.
 */
import { encodeRecord, type LeaseRecord, type LogRecord } from "./log-record.ts";
import { removeFiles, type SnapshotSource, snapshotPath, walPath, writeSnapshot } from "./store-files.ts";
import type { StoreInternals } from "./store-internals.ts";
import { WalWriter } from "./wal-writer.ts";

const CHUNK = 5000;

function snapshotSource(s: StoreInternals): SnapshotSource {
  const { queue, cacheDb, history, open } = s;
  return {
    counts: async () => ({
      events: Object.values(open.counts).reduce((a, b) => a + b, 0),
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

/** Moves the store to the next generation. */
export async function compactGeneration(s: StoreInternals): Promise<void> {
  const old = s.wal!;
  await old.sync();
  const oldGen = s.gen;
  const gen = oldGen + 1;
  s.snapshotBytes = await writeSnapshot(s.queueDir, gen, snapshotSource(s));
  s.wal = await WalWriter.open(walPath(s.queueDir, gen));
  s.gen = gen;
  const leases = new Map<string, LeaseRecord>();
  for (const l of s.leases.values()) {
    const key = `${l.until} ${l.owner}`;
    let r = leases.get(key);
    if (!r) leases.set(key, (r = { k: "lease", owner: l.owner, until: l.until, ids: [] }));
    r.ids.push(l.row.id);
  }
  if (leases.size > 0) s.wal.write([...leases.values()].map(encodeRecord));
  await old.close();
  const oldFiles = [walPath(s.queueDir, oldGen)];
  if (oldGen > 0) oldFiles.push(snapshotPath(s.queueDir, oldGen));
  await removeFiles(oldFiles);
}
