/**
 * Layout of a store directory's queue files and the crash-safe steps that change it.
 * `<dir>/queue/snapshot-<gen>.ndjson` holds the full state when `wal-<gen>.log` was started;
 * the state is that snapshot plus that log (generation 0 has no snapshot). A new snapshot is
 * written to a temp file, fsync'd, renamed and the directory fsync'd before the new log begins,
 * so a crash at any step leaves one complete generation to recover from.
 */
import { mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { StoreCorruptError } from "../../errors.ts";
import { encodeRecord, type LogRecord, SNAPSHOT_FORMAT } from "./log-record.ts";

const SNAPSHOT_RE = /^snapshot-(\d{6,})\.ndjson$/;
const WAL_RE = /^wal-(\d{6,})\.log$/;

export function queueDirOf(storeDir: string): string {
  return path.join(path.resolve(storeDir), "queue");
}

const pad = (gen: number) => String(gen).padStart(6, "0");
export const snapshotPath = (queueDir: string, gen: number) => path.join(queueDir, `snapshot-${pad(gen)}.ndjson`);
export const walPath = (queueDir: string, gen: number) => path.join(queueDir, `wal-${pad(gen)}.log`);

export interface Generation {
  gen: number;
  /** absent for generation 0 */
  snapshot?: string;
  snapshotBytes: number;
  wal: string;
  walBytes: number;
  /** files of older generations and unfinished temp files, safe to delete */
  leftovers: string[];
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
}

/** Finds the newest complete generation in a queue directory (which must exist). */
export async function currentGeneration(queueDir: string): Promise<Generation> {
  const names = await readdir(queueDir);
  let gen = 0;
  for (const n of names) {
    const m = SNAPSHOT_RE.exec(n);
    if (m) gen = Math.max(gen, Number(m[1]));
  }
  const leftovers: string[] = [];
  for (const n of names) {
    const s = SNAPSHOT_RE.exec(n);
    const w = WAL_RE.exec(n);
    if (n.endsWith(".tmp")) leftovers.push(path.join(queueDir, n));
    else if (s && Number(s[1]) < gen) leftovers.push(path.join(queueDir, n));
    else if (w && Number(w[1]) < gen) leftovers.push(path.join(queueDir, n));
    else if (w && Number(w[1]) > gen) {
      throw new StoreCorruptError(
        path.join(queueDir, n),
        `write-ahead log of generation ${Number(w[1])} has no snapshot (newest snapshot is generation ${gen})`,
      );
    }
  }
  const snapshot = gen > 0 ? snapshotPath(queueDir, gen) : undefined;
  const wal = walPath(queueDir, gen);
  return {
    gen,
    snapshot,
    snapshotBytes: snapshot ? await sizeOf(snapshot) : 0,
    wal,
    walBytes: await sizeOf(wal),
    leftovers,
  };
}

export async function ensureQueueDir(queueDir: string): Promise<void> {
  await mkdir(queueDir, { recursive: true });
}

/** fsyncs a directory so that a rename or a new file in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface SnapshotSource {
  /** yields chunks of records (whole row images), in any order */
  chunks(): AsyncIterable<LogRecord>;
  counts(): Promise<{ events: number; history: number; cache: number }>;
}

/**
 * Writes snapshot `gen` from source and makes it the current generation: temp file, fsync,
 * rename, fsync of the directory, then an empty WAL for the generation. Returns its size.
 */
export async function writeSnapshot(queueDir: string, gen: number, source: SnapshotSource): Promise<number> {
  const final = snapshotPath(queueDir, gen);
  const tmp = `${final}.tmp`;
  const fh = await open(tmp, "w");
  let bytes = 0;
  try {
    const buffered: Buffer[] = [];
    let bufferedBytes = 0;
    const put = async (record: LogRecord) => {
      const line = encodeRecord(record);
      buffered.push(line);
      bufferedBytes += line.length;
      if (bufferedBytes >= 4 * 1024 * 1024) await drain();
    };
    const drain = async () => {
      if (!buffered.length) return;
      const data = Buffer.concat(buffered);
      buffered.length = 0;
      bufferedBytes = 0;
      await fh.write(data);
      bytes += data.length;
    };
    const counts = await source.counts();
    await put({ k: "snapshot", format: SNAPSHOT_FORMAT, version: 1, gen, createdAt: Date.now(), events: counts.events });
    for await (const record of source.chunks()) await put(record);
    await put({ k: "end", ...counts });
    await drain();
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, final);
  await syncDir(queueDir);
  const wal = await open(walPath(queueDir, gen), "a");
  await wal.close();
  await syncDir(queueDir);
  return bytes;
}

/** Deletes files of older generations; errors are ignored (a later open retries). */
export async function removeFiles(files: string[]): Promise<void> {
  await Promise.all(files.map((f) => unlink(f).catch(() => undefined)));
}
