/**
 * `mudsync queue import FILE…`: loads dexie-export-import exports of EventQueueDB (and CacheDB)
 * into the local store. Pass 1 streams every file through the validating reader, so a bad file
 * changes nothing; pass 2 streams them again straight into the store's log as one atomic group
 * (importIntoDexieStore), so the import counts all-or-nothing even across a crash and its memory
 * does not grow with the file. Re-importing is idempotent (same ids are reported as already
 * present); `--replace` overwrites; `--skip-invalid` imports the valid rows and reports the others.
 * While a daemon holds the store, pass 2 goes through it (POST /v1/import, daemon/import-files.ts):
 * the daemon reads the same files and writes them through its open store, as one atomic group too.
 * Another writer holding the store (not a daemon with a control address) refuses the import, naming
 * the holder.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import type { DaemonImportResult } from "../../daemon/import-files.ts";
import { InvalidInputError, StoreLockedError, StoreTooLargeError, UsageError } from "../../errors.ts";
import type { DatabaseName } from "../../io/dexie-export/format.ts";
import { DexieExportReader, type InvalidRow } from "../../io/dexie-export/reader.ts";
import { type ImportCounts, type ImportRow, importIntoDexieStore } from "../../stores/dexie/index.ts";
import type { CommandContext } from "../shared/context.ts";
import { ControlClient, daemonHolding } from "../shared/control-client.ts";
import { createProgress, type Progress } from "../shared/progress.ts";
import { storeKeysOf } from "./open-store.ts";
import { ExportVerifier, withoutSignature } from "../../stores/dexie/crypto/export-signature.ts";
import { openExportRow } from "../../stores/dexie/crypto/export-sealing.ts";
import { RecordCipher } from "../../stores/dexie/crypto/record-cipher.ts";

export interface ImportOptions {
  files: string[];
  replace?: boolean;
  skipInvalid?: boolean;
  /** rows per write inside the atomic import */
  chunkSize?: number;
}

export interface ImportResult {
  files: { file: string; databaseName: DatabaseName; rows: number; invalid: number }[];
  events: ImportCounts;
  cache: ImportCounts;
  invalid: { count: number; rows: (Omit<InvalidRow, "type"> & { file: string })[]; listed: number };
  replace: boolean;
  /** set when a running daemon held the store and wrote the rows */
  via?: { daemon: number; control: string };
}

/** How long to wait for a daemon's import (large files take a while). */
const DAEMON_IMPORT_WAIT_MS = 3_600_000;

/** At most this many invalid rows are listed (all are counted). */
const MAX_LISTED_INVALID = 1000;

export async function queueImport(opts: ImportOptions, ctx: CommandContext, progress?: Progress): Promise<ImportResult> {
  const report = progress ?? createProgress(ctx);
  const invalidMode = opts.skipInvalid ? "collect" : "throw";
  const result: ImportResult = {
    files: [],
    events: { inserted: 0, existing: 0, replaced: 0 },
    cache: { inserted: 0, existing: 0, replaced: 0 },
    invalid: { count: 0, rows: [], listed: 0 },
    replace: Boolean(opts.replace),
  };

  // pass 1: validate everything before touching the store
  let validRows = 0;
  let eventRows = 0;
  const seen = new Map<string, string>();
  const { key } = await storeKeysOf(ctx);
  // an encrypted export's sealed values (queue export --encrypt) are opened with the store key
  const cipher = key ? new RecordCipher(key) : undefined;
  let sealed = false;
  for (const file of opts.files) {
    seen.set(file, await fingerprint(file));
    // a signed export (queue export --sign) is checked row by row: the first bad row refuses the import
    const signature = new ExportVerifier(file, key);
    const reader = new DexieExportReader(file, {
      invalidRows: invalidMode,
      onProgress: (done, total) => report.update({ phase: `validate ${file}`, done, total, unit: "bytes" }),
    });
    let rows = 0;
    let invalid = 0;
    for await (const item of reader.rows()) {
      rows++;
      signature.check(item.index, item.path, item.type === "row" ? item.value : undefined);
      if (item.type === "row") {
        if (openExportRow(cipher, item.table, item.value, { file, path: item.path, index: item.index }) !== item.value) sealed = true;
        if (item.table === "events") eventRows++;
        continue;
      }
      invalid++;
      result.invalid.count++;
      if (result.invalid.rows.length < MAX_LISTED_INVALID) {
        const { type: _kind, ...row } = item;
        result.invalid.rows.push({ file, ...row });
      }
    }
    signature.finish();
    const summary = reader.summary!;
    report.finish({ phase: `validate ${file}`, done: summary.bytes, total: summary.bytes, unit: "bytes" });
    result.files.push({ file, databaseName: summary.header.databaseName, rows, invalid });
    validRows += rows - invalid;
  }
  result.invalid.listed = result.invalid.rows.length;

  // pass 2: stream the rows into the store's files as one atomic group, without loading the store
  // (memory holds a chunk and the stored ids, not the rows); a crash before its commit changes nothing
  let written: Pick<ImportResult, "events" | "cache">;
  try {
    written = await writeLocally(opts, ctx, seen, report, validRows, eventRows, cipher);
  } catch (err) {
    if (!(err instanceof StoreLockedError)) throw err;
    const held = await daemonHolding(ctx.config.store);
    if (!held) throw err;
    if (sealed) throw new UsageError(`${opts.files.join(", ")}: an encrypted export cannot be imported through the daemon holding ${ctx.config.store}; stop it and import again`);
    process.stderr.write(`mudsync: store ${ctx.config.store} is held by the daemon (pid ${held.pid}); importing through ${held.client.address}\n`);
    written = await writeThroughDaemon(opts, held.client.withTimeout(DAEMON_IMPORT_WAIT_MS), seen, report, validRows);
    result.via = { daemon: held.pid, control: held.client.address };
  }
  result.events = written.events;
  result.cache = written.cache;
  return result;
}

/** Pass 2 without a daemon: straight into the store's log (stores/dexie/import/stream-import.ts). */
async function writeLocally(
  opts: ImportOptions,
  ctx: CommandContext,
  seen: Map<string, string>,
  report: Progress,
  validRows: number,
  eventRows: number,
  cipher: RecordCipher | undefined,
): Promise<Pick<ImportResult, "events" | "cache">> {
  return importIntoDexieStore(
    {
      dir: ctx.config.store,
      command: "queue import",
      keys: await storeKeysOf(ctx),
      replace: Boolean(opts.replace),
      ...(opts.chunkSize ? { chunkRows: opts.chunkSize } : {}),
      onWarning: (note) => process.stderr.write(`mudsync: warning: ${note}\n`),
      beforeWrite: ({ maxEvents }) => {
        // refuse before writing anything (an over-limit import would fail late and be undone)
        if (eventRows > maxEvents) {
          throw new StoreTooLargeError(
            `${opts.files.join(", ")}: ${eventRows} events, more than the local store takes (${maxEvents}); use the Postgres queue store (--queue postgres://…) for queues this large; nothing was imported`,
          );
        }
      },
    },
    rowsToWrite(opts, seen, report, validRows, cipher),
  );
}

/** Pass 2 through the daemon holding the store: it reads the files (same machine) and writes them. */
async function writeThroughDaemon(
  opts: ImportOptions,
  client: ControlClient,
  seen: Map<string, string>,
  report: Progress,
  validRows: number,
): Promise<Pick<ImportResult, "events" | "cache">> {
  for (const file of opts.files) await assertUnchanged(file, seen);
  report.update({ phase: "import (daemon)", done: 0, total: validRows, unit: "rows" });
  const r = await client.post<DaemonImportResult>("/v1/import", {
    files: opts.files.map((f) => path.resolve(f)),
    replace: Boolean(opts.replace),
    skipInvalid: Boolean(opts.skipInvalid),
  });
  report.finish({ phase: "import (daemon)", done: validRows, total: validRows, unit: "rows" });
  return { events: r.events, cache: r.cache };
}

/** Streams the valid rows of every file again, refusing a file that changed since pass 1. */
async function* rowsToWrite(opts: ImportOptions, seen: Map<string, string>, report: Progress, total: number, cipher: RecordCipher | undefined): AsyncGenerator<ImportRow> {
  let written = 0;
  for (const file of opts.files) {
    await assertUnchanged(file, seen);
    // rows were validated by pass 1; --skip-invalid needs the verdicts again to skip the same rows
    const reader = new DexieExportReader(file, { invalidRows: opts.skipInvalid ? "collect" : "trust" });
    for await (const item of reader.rows()) {
      if (item.type !== "row") continue;
      const value = openExportRow(cipher, item.table, withoutSignature(item.value), { file, path: item.path, index: item.index });
      yield { table: item.table, value };
      written++;
      report.update({ phase: "import", done: written, total, unit: "rows" });
    }
  }
  report.finish({ phase: "import", done: written, total, unit: "rows" });
}

/** Refuses a file that changed since pass 1 read it. */
async function assertUnchanged(file: string, seen: Map<string, string>): Promise<void> {
  if ((await fingerprint(file)) !== seen.get(file)) {
    throw new InvalidInputError(file, undefined, "the file changed while it was being imported; nothing was imported");
  }
}

/** Size and modification time: enough to notice a file rewritten between the two passes. */
async function fingerprint(file: string): Promise<string> {
  try {
    const s = await stat(file);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return "missing"; // the reader reports a missing file with a clear line
  }
}

export function renderImport(r: ImportResult): string {
  const lines: string[] = [];
  for (const f of r.files) {
    lines.push(`${f.file}: ${f.databaseName}, ${f.rows} rows${f.invalid ? ` (${f.invalid} invalid, skipped)` : ""}`);
  }
  const line = (what: string, c: ImportCounts) =>
    `${what}: ${c.inserted} inserted, ${r.replace ? `${c.replaced} replaced` : `${c.existing} already present (kept; --replace overwrites)`}`;
  lines.push(line("events", r.events));
  if (r.files.some((f) => f.databaseName === "CacheDB")) lines.push(line("cache entries", r.cache));
  if (r.via) lines.push(`written by the daemon (pid ${r.via.daemon}, ${r.via.control})`);
  if (r.invalid.count > 0) {
    lines.push(`skipped ${r.invalid.count} invalid rows:`);
    for (const row of r.invalid.rows) lines.push(`  ${row.file} at ${row.path}: ${row.reason}`);
    if (r.invalid.count > r.invalid.listed) lines.push(`  … and ${r.invalid.count - r.invalid.listed} more`);
  }
  return lines.join("\n");
}
