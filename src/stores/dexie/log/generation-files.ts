/**
 * Layout of a store directory's queue files and the crash-safe steps that change it.
 * `<dir>/queue/snapshot-<gen>.ndjson` holds the full state when `wal-<gen>.log` was started;
 * the state is that snapshot plus that log (generation 0 has no snapshot). A new generation's
 * snapshot is written to a temp file and fsync'd while the writer goes on in the old log; its log
 * is written and renamed into place first, then the snapshot is renamed (the directory fsync'd
 * after each), so a crash at any step leaves one complete generation to recover from: a log of
 * the next generation without its snapshot is a leftover, everything in it is in the old log too.
 */
import { chmod, type FileHandle, mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { StoreCorruptError, StorePathError } from "../../../errors.ts";
import { encodeRecord, type LogRecord, SNAPSHOT_FORMAT } from "./log-record.ts";
import { STORE_DIR_MODE, STORE_FILE_MODE } from "./file-modes.ts";

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
    // a compaction stopped between renaming the new log and renaming its snapshot
    else if (w && Number(w[1]) === gen + 1) leftovers.push(path.join(queueDir, n));
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

/**
 * Creates the queue directory (and the store directory) when missing, both 0700 (file-modes.ts);
 * an existing store directory this account owns is narrowed to 0700 as well.
 */
export async function ensureQueueDir(queueDir: string): Promise<void> {
  try {
    // a recursive mkdir gives every directory it creates this mode, the store directory too
    await mkdir(queueDir, { recursive: true, mode: STORE_DIR_MODE });
    await narrowMode(path.dirname(queueDir));
    await narrowMode(queueDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const dir = path.dirname(queueDir);
    if (code === "ENOTDIR") {
      throw new StorePathError(dir, "is not a directory (it, or a directory above it, is a file)", { cause: error });
    }
    if (code === "EEXIST") throw new StorePathError(dir, `holds a file where its queue directory belongs (${queueDir})`, { cause: error });
    if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
      throw new StorePathError(dir, `cannot be created or written (${code})`, { cause: error });
    }
    throw error;
  }
}

/** Takes group and other access away from a directory this account owns (a store made before 0700). */
async function narrowMode(dir: string): Promise<void> {
  const s = await stat(dir);
  if ((s.mode & 0o077) !== 0 && s.uid === process.getuid?.()) await chmod(dir, s.mode & 0o700);
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

/** Writes records to a new file as log lines, buffered: `flushBytes` at a time. */
export class RecordFileWriter {
  /** bytes written to the file so far */
  written = 0;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;

  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    private readonly flushBytes: number,
  ) {}

  static async create(file: string, flushBytes: number): Promise<RecordFileWriter> {
    return new RecordFileWriter(file, await open(file, "w", STORE_FILE_MODE), flushBytes);
  }

  async add(record: LogRecord): Promise<void> {
    const line = encodeRecord(record);
    this.buffered.push(line);
    this.bufferedBytes += line.length;
    if (this.bufferedBytes >= this.flushBytes) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.bufferedBytes === 0) return;
    const data = Buffer.concat(this.buffered, this.bufferedBytes);
    this.buffered = [];
    this.bufferedBytes = 0;
    await this.fh.write(data);
    this.written += data.length;
  }

  /** Writes what is buffered and closes the file, after an fsync when `sync`. */
  async close(sync = false): Promise<void> {
    try {
      await this.flush();
      if (sync) await this.fh.sync();
    } finally {
      await this.fh.close();
    }
  }

  /** Closes the file without writing what is buffered and deletes it. */
  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await unlink(this.file).catch(() => undefined);
  }
}

/**
 * Writes snapshot `gen` into its temp file, record by record: the header (with the event count
 * the caller states) first, the end marker (counting the rows written) and an fsync on finish.
 * installGeneration makes it current. On abort the temp file is deleted.
 */
export class SnapshotWriter {
  private readonly written = { events: 0, history: 0, cache: 0 };

  private constructor(private readonly out: RecordFileWriter) {}

  static async open(queueDir: string, gen: number, events: number): Promise<SnapshotWriter> {
    const w = new SnapshotWriter(await RecordFileWriter.create(`${snapshotPath(queueDir, gen)}.tmp`, 4 * 1024 * 1024));
    await w.out.add({ k: "snapshot", format: SNAPSHOT_FORMAT, version: 1, gen, createdAt: Date.now(), events });
    return w;
  }

  async put(record: LogRecord): Promise<void> {
    if (record.k === "ev") this.written.events += record.rows.length;
    else if (record.k === "hist") this.written.history += record.rows.length;
    else if (record.k === "cache") this.written.cache += record.rows.length;
    await this.out.add(record);
  }

  async finish(): Promise<{ tmp: string; bytes: number }> {
    await this.out.add({ k: "end", ...this.written });
    await this.out.close(true);
    return { tmp: this.out.file, bytes: this.out.written };
  }

  abort(): Promise<void> {
    return this.out.abort();
  }
}

/** Writes snapshot `gen` from source into its temp file and fsyncs it (SnapshotWriter). */
export async function writeSnapshotTemp(queueDir: string, gen: number, source: SnapshotSource): Promise<{ tmp: string; bytes: number }> {
  const w = await SnapshotWriter.open(queueDir, gen, (await source.counts()).events);
  try {
    for await (const record of source.chunks()) await w.put(record);
    return await w.finish();
  } catch (error) {
    await w.abort();
    throw error;
  }
}

/**
 * Makes generation `gen` current: its log (`walLines`, written to a temp file, fsync'd) is
 * renamed into place, then the snapshot written by writeSnapshotTemp; the directory is fsync'd
 * after each rename. Until the snapshot's rename the previous generation stays the current one.
 */
export async function installGeneration(queueDir: string, gen: number, snapshotTmp: string, walLines: Buffer[]): Promise<void> {
  const wal = walPath(queueDir, gen);
  const walTmp = `${wal}.tmp`;
  const fh = await open(walTmp, "w", STORE_FILE_MODE);
  try {
    if (walLines.length) await fh.write(Buffer.concat(walLines));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(walTmp, wal);
  await syncDir(queueDir);
  await rename(snapshotTmp, snapshotPath(queueDir, gen));
  await syncDir(queueDir);
}

/** Deletes files of older generations; errors are ignored (a later open retries). */
export async function removeFiles(files: string[]): Promise<void> {
  await Promise.all(files.map((f) => unlink(f).catch(() => undefined)));
}
