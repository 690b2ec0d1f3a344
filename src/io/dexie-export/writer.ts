/**
 * Streaming writer of dexie-export-import files, byte-compatible with what the browser library
 * writes without `prettyJson`: `{"formatName":"dexie","formatVersion":1,"data":{"databaseName":…,
 * "databaseVersion":…,"tables":[{"name":…,"schema":…,"rowCount":N}],"data":[{"tableName":…,
 * "inbound":true,"rows":[…]}]}}`. The header carries the row count, so rows are streamed to a
 * side file first and the export is assembled and renamed into place at the end: an interrupted
 * export never leaves a half-written file under the target name.
 */
import { createReadStream } from "node:fs";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { InvalidInputError } from "../../errors.ts";
import { DATABASES, type DatabaseName, FORMAT_NAME, FORMAT_VERSION } from "./format.ts";

export interface WriteTarget {
  databaseName: DatabaseName;
  databaseVersion: number;
}

export interface WriteResult {
  file: string;
  rows: number;
  bytes: number;
}

/** Writes `batches` of rows (in the order given) as one export of `target.databaseName`. */
export async function writeDexieExport(
  file: string,
  target: WriteTarget,
  batches: AsyncIterable<readonly unknown[]> | Iterable<readonly unknown[]>,
  onProgress?: (rows: number) => void,
): Promise<WriteResult> {
  const spec = DATABASES[target.databaseName];
  const suffix = `${process.pid}-${Date.now().toString(36)}.tmp`;
  const bodyFile = `${file}.rows-${suffix}`;
  const outFile = `${file}.${suffix}`;
  try {
    let rows = 0;
    const body = await create(bodyFile, file);
    try {
      for await (const batch of batches) {
        if (batch.length === 0) continue;
        let text = "";
        for (const row of batch) text += (rows++ === 0 ? "" : ",") + JSON.stringify(row);
        await body.write(text);
        onProgress?.(rows);
      }
    } finally {
      await body.close();
    }
    const empty = JSON.stringify({
      formatName: FORMAT_NAME,
      formatVersion: FORMAT_VERSION,
      data: {
        databaseName: target.databaseName,
        databaseVersion: target.databaseVersion,
        tables: [{ name: spec.table, schema: spec.schema, rowCount: rows }],
        data: [],
      },
    });
    const cut = empty.lastIndexOf("]");
    const tableOpen = JSON.stringify({ tableName: spec.table, inbound: true, rows: [] }).slice(0, -2);
    const head = Buffer.from(empty.slice(0, cut) + tableOpen);
    const tail = Buffer.from(`]}${empty.slice(cut)}`);
    const out = await create(outFile, file);
    let bytes = 0;
    try {
      bytes += (await out.write(head)).bytesWritten;
      for await (const chunk of createReadStream(bodyFile) as AsyncIterable<Buffer>) {
        bytes += (await out.write(chunk)).bytesWritten;
      }
      bytes += (await out.write(tail)).bytesWritten;
    } finally {
      await out.close();
    }
    await rename(outFile, file);
    return { file, rows, bytes };
  } finally {
    await rm(bodyFile, { force: true });
    await rm(outFile, { force: true });
  }
}

/** Opens a file for writing; a path that cannot be written is bad input naming the target. */
async function create(tmp: string, target: string): Promise<FileHandle> {
  try {
    return await open(tmp, "w");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EACCES" || code === "EISDIR" || code === "EROFS") {
      throw new InvalidInputError(target, undefined, `cannot write the export here (${code}); expected a path in an existing, writable directory`);
    }
    throw err;
  }
}
