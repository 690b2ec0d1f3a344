/**
 * Compaction of a store drained in parts (parted-store.ts), without the whole store in memory:
 * the new snapshot's rows are the part files' (each holds its part's rows as they were left),
 * read one part at a time; its history and cache are streamed from the current snapshot and log
 * (history entries are appended, not images, so they are copied in file order; records of an
 * atomic group count only with its commit, as on load). Then the new generation is installed as
 * any compaction's is (log/generation-files.ts), so a crash at any step leaves a complete
 * generation.
 *
 * History is copied as stored: the per-event cap (HISTORY_CAP) is applied when a store loads it.
 */
import type { CacheEntry } from "../../../core/ports.ts";
import { StoreCorruptError } from "../../../errors.ts";
import { claimEntries } from "../leases/lease-table.ts";
import { AtomicGroups, type LogRecord } from "../log/log-record.ts";
import { readLog } from "../log/log-reader.ts";
import { readSnapshot } from "../log/snapshot-reader.ts";
import { type Generation, installGeneration, removeFiles, SnapshotWriter } from "../log/generation-files.ts";
import { foldPartFile } from "../load-generation.ts";
import type { RecordCipher } from "../crypto/record-cipher.ts";
import type { StoreReadLimits } from "../log/snapshot-reader.ts";

const CHUNK = 1000;

/**
 * Writes generation g.gen+1 from the part files and g's history and cache, and installs it.
 * `events`: how many events the parts hold together. The caller holds the lock, no writer is open.
 */
export async function compactFromParts(
  queueDir: string,
  g: Generation,
  partFiles: string[],
  events: number,
  limits: StoreReadLimits & { cipher?: RecordCipher },
): Promise<{ gen: number; bytes: number }> {
  const gen = g.gen + 1;
  const cipher = limits.cipher;
  const seal = (r: LogRecord): LogRecord => (cipher ? cipher.seal(r) : r);
  const w = await SnapshotWriter.open(queueDir, gen, events);
  try {
    for (const file of partFiles) {
      const rows = await foldPartFile(file, cipher);
      for (let i = 0; i < rows.length; i += CHUNK) await w.put(seal({ k: "ev", rows: rows.slice(i, i + CHUNK) }));
    }
    const cache = new Map<string, CacheEntry | null>();
    if (g.snapshot) {
      // its event rows are not read: the part files hold them as they are now
      await readSnapshot(g.snapshot, limits, {
        history: (rows) => w.put({ k: "hist", rows }),
        cache: (rows) => {
          for (const c of rows) cache.set(c.key, c);
        },
      });
    }
    const take = async (r: LogRecord): Promise<void> => {
      if (r.k === "hist") await w.put({ k: "hist", rows: r.rows });
      else if (r.k === "lease" && r.at !== undefined) await w.put({ k: "hist", rows: claimEntries(r) });
      else if (r.k === "cache") for (const c of r.rows) cache.set(c.key, c);
      else if (r.k === "cachedel") for (const k of r.keys) cache.set(k, null);
      // "ev": the rows come from the part files
    };
    const groups = new AtomicGroups();
    const read = await readLog(g.wal, async (r, offset) => {
      if (r.k === "snapshot" || r.k === "end") throw new StoreCorruptError(g.wal, `unexpected ${r.k} record at byte offset ${offset}`);
      for (const x of groups.route(r)) await take(x);
    }, { skip: ["ev"], ...(cipher ? { cipher } : {}) });
    if (read.tornAt !== undefined) throw new StoreCorruptError(g.wal, `${read.tornReason ?? "damaged"} at byte offset ${read.tornAt}`);
    const entries = [...cache.values()].filter((c): c is CacheEntry => c !== null);
    for (let i = 0; i < entries.length; i += CHUNK) await w.put(seal({ k: "cache", rows: entries.slice(i, i + CHUNK) }));
    const snapshot = await w.finish();
    await installGeneration(queueDir, gen, snapshot.tmp, []);
    await removeFiles([g.wal, ...(g.snapshot ? [g.snapshot] : [])]);
    return { gen, bytes: snapshot.bytes };
  } catch (error) {
    await w.abort();
    throw error;
  }
}
