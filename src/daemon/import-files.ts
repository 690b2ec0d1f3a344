/**
 * `queue import` through a running daemon (`POST /v1/import`): the daemon reads the export files
 * named in the request (the control API listens on loopback or a unix socket only, so the files
 * are on its machine) and writes their rows through the store it holds, all inside one `atomic`
 * group. So the import is all-or-nothing as without a daemon: a bad row, a store limit or a crash
 * part-way leaves the store as it was. The engine's writes wait for the group meanwhile.
 *
 * The decisions are the offline import's (stores/dexie/import/stream-import.ts): a new id is
 * inserted; an id already stored, or given earlier in the import, is kept and counted as existing,
 * or with `replace` overwritten by the later image.
 */
import type { QueuedEvent } from "../core/event.ts";
import type { CacheEntry, CacheStore, QueueStore } from "../core/ports.ts";
import { UsageError } from "../errors.ts";
import { DexieExportReader } from "../io/dexie-export/reader.ts";
import { countImportRow, type ImportCounts } from "../stores/dexie/index.ts";
import { withoutSignature } from "../stores/dexie/crypto/export-signature.ts";

export interface ImportRequest {
  /** absolute paths, read by the daemon */
  files: string[];
  replace: boolean;
  skipInvalid: boolean;
}

export interface DaemonImportResult {
  events: ImportCounts;
  cache: ImportCounts;
  /** rows left out as invalid (only with skipInvalid; otherwise the first one fails the import) */
  invalid: number;
}

const zero = (): ImportCounts => ({ inserted: 0, existing: 0, replaced: 0 });

/** Imports the files' rows into an open store as one atomic group. */
export async function importIntoOpenStore(
  store: QueueStore & { readonly cache?: CacheStore; atomic?: <T>(fn: () => Promise<T>) => Promise<T> },
  req: ImportRequest,
  chunkRows = 1000,
): Promise<DaemonImportResult> {
  if (!store.atomic) {
    throw new UsageError("this daemon's queue store takes no export imports (they are for the local store: --store DIR)");
  }
  return store.atomic(async () => {
    const result: DaemonImportResult = { events: zero(), cache: zero(), invalid: 0 };
    let chunk: QueuedEvent[] = [];
    for (const file of req.files) {
      const reader = new DexieExportReader(file, { invalidRows: req.skipInvalid ? "collect" : "throw" });
      for await (const item of reader.rows()) {
        if (item.type !== "row") {
          result.invalid++;
          continue;
        }
        if (item.table === "cache") {
          // a signed export's rows were checked by the CLI's first pass; the signature is not stored
          await importCacheEntry(store.cache, withoutSignature(item.value) as unknown as CacheEntry, req.replace, result.cache, file);
          continue;
        }
        chunk.push(withoutSignature(item.value) as unknown as QueuedEvent);
        if (chunk.length >= chunkRows) {
          await putChunk(store, chunk, req.replace, result.events);
          chunk = [];
        }
      }
      // each file's last rows are written before the next file is read
      await putChunk(store, chunk, req.replace, result.events);
      chunk = [];
    }
    return result;
  });
}

/** Writes one chunk of events: new ids, and with replace the ids already stored (last image wins). */
async function putChunk(store: QueueStore, rows: QueuedEvent[], replace: boolean, counts: ImportCounts): Promise<void> {
  if (rows.length === 0) return;
  const ids = [...new Set(rows.map((r) => r.id))];
  const befores = await store.getMany(ids);
  const stored = new Set(ids.filter((_, i) => befores[i] !== undefined));
  const write = new Map<string, QueuedEvent>();
  for (const e of rows) {
    if (countImportRow(stored.has(e.id) || write.has(e.id), counts, replace)) write.set(e.id, e);
  }
  if (write.size > 0) await store.put([...write.values()]);
}

async function importCacheEntry(cache: CacheStore | undefined, entry: CacheEntry, replace: boolean, counts: ImportCounts, file: string): Promise<void> {
  if (!cache) throw new UsageError(`${file}: holds CacheDB rows, but the daemon's store has no cache`);
  if (countImportRow((await cache.get(entry.key)) !== undefined, counts, replace)) await cache.set(entry);
}
