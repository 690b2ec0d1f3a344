/**
 * Streaming writer of dexie-export-import files, byte-compatible with what the browser library
 * writes without `prettyJson`: `{"formatName":"dexie","formatVersion":1,"data":{"databaseName":…,
 * "databaseVersion":…,"tables":[{"name":…,"schema":…,"rowCount":N}],"data":[{"tableName":…,
 * "inbound":true,"rows":[…]}]}}`. The header carries the row count, so rows are streamed to a
 * side file first and the export is assembled and renamed into place at the end: an interrupted
 * export never leaves a half-written file under the target name.
 */
import { once } from "node:events";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
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
    const body = createWriteStream(bodyFile);
    try {
      for await (const batch of batches) {
        if (batch.length === 0) continue;
        let text = "";
        for (const row of batch) text += (rows++ === 0 ? "" : ",") + JSON.stringify(row);
        await write(body, text);
        onProgress?.(rows);
      }
    } finally {
      await close(body);
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
    const out = createWriteStream(outFile);
    let bytes = 0;
    try {
      const head = empty.slice(0, cut) + tableOpen;
      bytes += Buffer.byteLength(head);
      await write(out, head);
      for await (const chunk of createReadStream(bodyFile) as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        await write(out, chunk);
      }
      const tail = `]}${empty.slice(cut)}`;
      bytes += Buffer.byteLength(tail);
      await write(out, tail);
    } finally {
      await close(out);
    }
    await rename(outFile, file);
    return { file, rows, bytes };
  } finally {
    await rm(bodyFile, { force: true });
    await rm(outFile, { force: true });
  }
}

async function write(stream: WriteStream, data: string | Buffer): Promise<void> {
  if (!stream.write(data)) await once(stream, "drain");
}

async function close(stream: WriteStream): Promise<void> {
  if (stream.closed) return;
  await new Promise<void>((resolve, reject) => {
    stream.once("error", reject);
    stream.end(() => resolve());
  });
}
