/**
 * Splits a store's current generation into one scratch file per part (events/row-partition.ts),
 * in one streaming pass, so that opening a part reads its own rows instead of the whole store
 * again.
 *
 * A part file is a log (log/log-record.ts lines) of the part's event records, in the order the
 * snapshot and the log hold them; records of an atomic group keep their `tx`, and every part gets
 * the group's commit or abort, so that folding a part file gives the part's rows exactly as
 * folding the whole store would. History, leases and the cache are left out: a part loads none of
 * them. A torn tail of the log is cut first, as a writer's open does.
 *
 * Part files are `part-<k>-of-<n>.tmp` in the queue directory: a crash leaves them as leftovers
 * that the next writer deletes (log/generation-files.ts treats `*.tmp` so). They are scratch: the
 * store's state stays in its snapshot and log, which the split only reads.
 */
import { rename } from "node:fs/promises";
import path from "node:path";
import type { QueuedEvent } from "../../../core/event.ts";
import { StoreCorruptError } from "../../../errors.ts";
import { readLog } from "../log/log-reader.ts";
import type { LogRecord } from "../log/log-record.ts";
import { cutTornTail } from "../log/recovery.ts";
import { readSnapshot } from "../log/snapshot-reader.ts";
import { type Generation, RecordFileWriter, removeFiles } from "../log/generation-files.ts";
import { partOfRow } from "../events/row-partition.ts";
import type { RecordCipher } from "../crypto/record-cipher.ts";
import type { StoreReadLimits } from "../log/snapshot-reader.ts";

/** bytes buffered per part file before they are written */
const FLUSH_BYTES = 128 * 1024;

export const partFilePath = (queueDir: string, index: number, count: number) => path.join(queueDir, `part-${index + 1}-of-${count}.tmp`);

export interface SplitResult {
  files: string[];
  /** one-line notes: a torn tail cut */
  warnings: string[];
}

/** Routes event rows to their parts' writers, one record per part (tx kept). */
async function route(writers: RecordFileWriter[], rows: QueuedEvent[], tx: string | undefined, cipher: RecordCipher | undefined): Promise<void> {
  const n = writers.length;
  const byPart: QueuedEvent[][] = Array.from({ length: n }, () => []);
  for (const r of rows) byPart[partOfRow(r.entity, r.entityId, n)]!.push(r);
  for (let k = 0; k < n; k++) {
    if (!byPart[k]!.length) continue;
    const record: LogRecord = { k: "ev", rows: byPart[k]!, ...(tx !== undefined ? { tx } : {}) };
    await writers[k]!.add(cipher ? cipher.seal(record) : record);
  }
}

/** Writes the part files of generation g (the caller holds the store's lock). */
export async function splitStore(queueDir: string, g: Generation, count: number, limits: StoreReadLimits & { cipher?: RecordCipher }): Promise<SplitResult> {
  const cipher = limits.cipher;
  const files = Array.from({ length: count }, (_, k) => partFilePath(queueDir, k, count));
  const writers: RecordFileWriter[] = [];
  const warnings: string[] = [];
  try {
    for (const f of files) writers.push(await RecordFileWriter.create(f, FLUSH_BYTES));
    if (g.snapshot) {
      // history and cache lines are checksummed, not decoded (a part holds neither)
      await readSnapshot(g.snapshot, limits, { events: (rows) => route(writers, rows, undefined, cipher) });
    }
    const read = await readLog(g.wal, async (record, offset) => {
      if (record.k === "snapshot" || record.k === "end") throw new StoreCorruptError(g.wal, `unexpected ${record.k} record at byte offset ${offset}`);
      if (record.k === "ev") await route(writers, record.rows, record.tx, cipher);
      else if (record.k === "commit" || record.k === "abort") for (const w of writers) await w.add(record);
    }, { skip: ["hist", "lease", "cache", "cachedel"], ...(cipher ? { cipher } : {}) }).catch((error: unknown) => {
      // generation 0 before its first write has no log yet
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    });
    if (read?.tornAt !== undefined) {
      const cut = await cutTornTail(g.wal, { offset: read.tornAt, bytes: read.size - read.tornAt, reason: read.tornReason ?? "damaged" });
      warnings.push(cut.note);
    }
    for (const w of writers.splice(0)) await w.close();
    return { files, warnings };
  } catch (error) {
    await Promise.all(writers.map((w) => w.close().catch(() => undefined)));
    await removeFiles(files);
    throw error;
  }
}

/** Replaces a part's file with its rows as they are now (the part was drained and may be loaded again). */
export async function rewritePartFile(file: string, rows: AsyncIterable<QueuedEvent[]>, cipher?: RecordCipher): Promise<void> {
  const tmp = `${file}.new.tmp`;
  const w = await RecordFileWriter.create(tmp, FLUSH_BYTES);
  try {
    for await (const chunk of rows) {
      if (!chunk.length) continue;
      const record: LogRecord = { k: "ev", rows: chunk };
      await w.add(cipher ? cipher.seal(record) : record);
    }
    await w.close();
  } catch (error) {
    // the part's file stays as it was; the half-written copy goes
    await w.close().catch(() => undefined);
    await removeFiles([tmp]);
    throw error;
  }
  await rename(tmp, file);
}
