/**
 * The ids of the events and the keys of the cache entries a store holds, read from its files
 * without loading the rows anywhere: the snapshot streamed record by record, then the log with
 * the same rules as the loader (records of an atomic group count only once its commit is read).
 * Events are never deleted, so the ids only grow; cache deletions are followed. This is what the
 * streaming import needs to stay idempotent and within the size limit: a set of strings (about
 * 80 bytes per 36-character id with the set's own overhead, 8 MB per 100k; copied out of the
 * parsed lines, see own-string.ts), not the rows.
 */
import { StoreCorruptError } from "../../../errors.ts";
import { ownString } from "../../../io/own-string.ts";
import type { LogRecord } from "../log/log-record.ts";
import { readLog } from "../log/log-reader.ts";
import { type TornTail, UncommittedTail } from "../log/recovery.ts";
import { readSnapshot } from "../log/snapshot-reader.ts";
import type { Generation } from "../log/generation-files.ts";

export interface StoredKeys {
  events: Set<string>;
  cache: Set<string>;
  /** a torn tail of the log, for the writer to cut */
  torn?: TornTail;
  /** records of atomic groups that never committed (ignored) */
  discarded: number;
  /** where the log's tail of such records starts, when nothing after them counts (log/recovery.ts) */
  uncommittedFrom?: number;
  /** bytes of the log when read */
  walBytes?: number;
}

type KeyChange = { events?: string[]; cacheSet?: string[]; cacheDel?: string[] };

/** The keys a record adds or removes, copied out of its parsed line (which they would keep alive). */
function keyChange(r: LogRecord): KeyChange | null {
  if (r.k === "ev") return { events: r.rows.map((e) => ownString(e.id)) };
  if (r.k === "cache") return { cacheSet: r.rows.map((c) => ownString(c.key)) };
  if (r.k === "cachedel") return { cacheDel: r.keys };
  return null;
}

export async function scanStoredKeys(g: Generation, opts: { maxEvents: number; dir: string; walExists: boolean }): Promise<StoredKeys> {
  const keys: StoredKeys = { events: new Set(), cache: new Set(), discarded: 0 };
  const apply = (c: KeyChange) => {
    for (const id of c.events ?? []) keys.events.add(id);
    for (const k of c.cacheSet ?? []) keys.cache.add(k);
    for (const k of c.cacheDel ?? []) keys.cache.delete(k);
  };
  if (g.snapshot) {
    const file = g.snapshot;
    // ids and keys are all it needs: sealed values stay sealed
    await readSnapshot(file, { ...opts, cipher: "keys-only" }, {
      events: (rows) => {
        for (const r of rows) {
          if (keys.events.has(r.id)) throw new StoreCorruptError(file, `holds event ${r.id} twice`);
          keys.events.add(ownString(r.id));
        }
      },
      cache: (rows) => {
        for (const c of rows) keys.cache.add(ownString(c.key));
      },
    });
  }
  if (!opts.walExists) return keys;
  // per open atomic group: the key changes of its records (and how many records) until its commit
  const open = new Map<string, { changes: KeyChange[]; records: number }>();
  const tail = new UncommittedTail();
  const r = await readLog(g.wal, (record, offset) => {
    if (record.k === "snapshot" || record.k === "end") {
      throw new StoreCorruptError(g.wal, `unexpected ${record.k} record at byte offset ${offset}`);
    }
    tail.see(record, offset);
    if (record.k === "commit" || record.k === "abort") {
      const group = open.get(record.tx);
      open.delete(record.tx);
      if (group && record.k === "commit") group.changes.forEach(apply);
      return;
    }
    const change = keyChange(record);
    const tx = "tx" in record ? record.tx : undefined;
    if (tx === undefined) {
      if (change) apply(change);
      return;
    }
    let group = open.get(tx);
    if (!group) open.set(tx, (group = { changes: [], records: 0 }));
    group.records++;
    if (change) group.changes.push(change);
  }, { cipher: "keys-only" });
  if (r.tornAt !== undefined) keys.torn = { offset: r.tornAt, bytes: r.size - r.tornAt, reason: r.tornReason ?? "damaged" };
  for (const group of open.values()) keys.discarded += group.records;
  const from = tail.start();
  if (from !== undefined) keys.uncommittedFrom = from;
  keys.walBytes = r.size;
  return keys;
}
