/**
 * `mudsync queue export FILE [--cache FILE]`: writes the local queue as a dexie-export-import
 * export of EventQueueDB (the browser app's name, version and schema, so the app can load it with
 * `importInto`), and with `--cache` the TTL cache as a second export of CacheDB. Import of these
 * files gives back exactly the same rows (see tests/unit/dexie-export-roundtrip.test.ts).
 * `--sign` adds an HMAC to every row (stores/dexie/crypto/export-signature.ts) and `--encrypt`
 * seals payloads and cached data (export-sealing.ts), both with the store key.
 */
import path from "node:path";
import type { CacheStore } from "../../core/ports.ts";
import { BROWSER_DATABASE_VERSION } from "../../io/dexie-export/format.ts";
import { type WriteResult, writeDexieExport } from "../../io/dexie-export/writer.ts";
import type { CommandContext } from "../shared/context.ts";
import { withQueueStore } from "./open-store.ts";
import { createProgress } from "../shared/progress.ts";
import { StoreKeyError } from "../../errors.ts";
import { keyFromEnv, type StoreKey } from "../../stores/dexie/crypto/store-key.ts";
import { ExportSigner } from "../../stores/dexie/crypto/export-signature.ts";
import { sealExportRow } from "../../stores/dexie/crypto/export-sealing.ts";
import { RecordCipher } from "../../stores/dexie/crypto/record-cipher.ts";

export interface ExportOptions {
  file: string;
  /** also export the cache (CacheDB) to this file */
  cache?: string;
  /** databaseVersion written in the header (default: the browser app's version, 1) */
  databaseVersion?: number;
  /** sign every row with the store key */
  sign?: boolean;
  /** seal payloads and cached data with the store key */
  encrypt?: boolean;
}

export interface ExportResult {
  events: WriteResult;
  cache?: WriteResult;
}

export async function queueExport(opts: ExportOptions, ctx: CommandContext): Promise<ExportResult> {
  const progress = createProgress(ctx);
  const databaseVersion = opts.databaseVersion ?? BROWSER_DATABASE_VERSION;
  const key = opts.sign || opts.encrypt ? await exportKey(ctx, opts.sign ? "--sign" : "--encrypt") : undefined;
  return withQueueStore(ctx, "read", "queue export", async (store) => {
    const file = path.resolve(ctx.cwd, opts.file);
    // the total gives the bar its ETA; the store read is a snapshot, so it is exact
    const total = Object.values(await store.counts()).reduce((a, b) => a + b, 0);
    const events = await writeDexieExport(file, { databaseName: "EventQueueDB", databaseVersion }, protect(store.scan(1000), "events", opts, key), (done) =>
      progress.update({ phase: "export events", done, total, unit: "rows" }),
    );
    progress.finish({ phase: "export events", done: events.rows, total, unit: "rows" });
    const result: ExportResult = { events: { ...events, file: opts.file } };
    if (opts.cache) {
      const cacheFile = path.resolve(ctx.cwd, opts.cache);
      const cache = await writeDexieExport(cacheFile, { databaseName: "CacheDB", databaseVersion }, protect(cacheBatches(store.cache, 500), "cache", opts, key));
      result.cache = { ...cache, file: opts.cache };
    }
    return result;
  });
}

async function exportKey(ctx: CommandContext, flag: string): Promise<StoreKey> {
  const key = await keyFromEnv(ctx.env, ctx.cwd);
  if (!key) throw new StoreKeyError(`queue export ${flag}: no key; set MUDSYNC_KEY_FILE (a file of mode 0600) or MUDSYNC_KEY`);
  return key;
}

/** The batches sealed (--encrypt) and then signed (--sign), as asked. */
function protect(
  batches: AsyncIterable<readonly unknown[]>,
  table: "events" | "cache",
  opts: Pick<ExportOptions, "sign" | "encrypt">,
  key: StoreKey | undefined,
): AsyncIterable<readonly unknown[]> {
  let out = batches;
  if (key && opts.encrypt) {
    const cipher = new RecordCipher(key);
    out = (async function* () {
      for await (const batch of batches) yield batch.map((row) => sealExportRow(cipher, table, row as Record<string, unknown>));
    })();
  }
  return key && opts.sign ? new ExportSigner(key).signedBatches(out) : out;
}

/** Cache entries in key order, `size` at a time. */
async function* cacheBatches(cache: CacheStore, size: number) {
  const keys = (await cache.keysWithPrefix("")).sort();
  for (let i = 0; i < keys.length; i += size) {
    const entries = await Promise.all(keys.slice(i, i + size).map((k) => cache.get(k)));
    yield entries.filter((e) => e !== undefined);
  }
}

export function renderExport(r: ExportResult): string {
  const line = (what: string, w: WriteResult) => `${what}: ${w.rows} rows to ${w.file} (${w.bytes} bytes)`;
  return [line("events", r.events), ...(r.cache ? [line("cache", r.cache)] : [])].join("\n");
}
