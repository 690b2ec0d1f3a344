/**
 * Append-only write-ahead log with group commit. `append` queues encoded lines and returns a
 * promise that resolves once they are written and fdatasync'd. Lines that arrive while a sync is
 * running share the next write + sync, so many concurrent writers cost one sync per round.
 * `write` queues lines nobody waits for (leases): they go out with the next write, and a round
 * holding only such lines is written without a sync.
 */
import { type FileHandle, open } from "node:fs/promises";
import { storeWriteError } from "./write-failure.ts";
import { STORE_FILE_MODE } from "./file-modes.ts";

/** What a failed log write means for the writes it held (said in its StoreWriteError). */
const FAILED_WRITE_OUTCOME = "what was acknowledged before is kept; the writes in flight were not acknowledged and may not be stored";

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

export class WalWriter {
  private pending: Buffer[] = [];
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | null = null;
  private failed: unknown = null;
  /** bytes were written since the last sync */
  private dirty = false;

  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    /** bytes in the file, including lines queued but not yet written */
    public size: number,
  ) {}

  static async open(file: string): Promise<WalWriter> {
    const fh = await open(file, "a", STORE_FILE_MODE);
    const { size } = await fh.stat();
    return new WalWriter(file, fh, size);
  }

  /** bytes appended but not yet durable */
  backlog = 0;

  /** Queues lines; resolves when they are durable. Lines are written in call order. */
  append(lines: Buffer[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    for (const l of lines) {
      this.pending.push(l);
      this.size += l.length;
      this.backlog += l.length;
    }
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.flushing) this.flushing = this.flushLoop();
    return done;
  }

  /** Queues lines that need not be durable: written with the next round, synced by a later one. */
  write(lines: Buffer[]): void {
    if (this.failed) return;
    for (const l of lines) {
      this.pending.push(l);
      this.size += l.length;
      this.backlog += l.length;
    }
    if (!this.flushing) this.flushing = this.flushLoop();
  }

  /** Resolves when everything appended so far is durable (at once when nothing is in flight). */
  sync(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (!this.flushing && this.pending.length === 0 && !this.dirty) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.flushing) this.flushing = this.flushLoop();
    return done;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0 || this.waiters.length > 0) {
        const lines = this.pending;
        const waiters = this.waiters;
        this.pending = [];
        this.waiters = [];
        try {
          if (lines.length === 0) {
            // only sync() callers: what they wait for was in the write that just finished
            if (this.dirty) await this.fh.datasync();
            this.dirty = false;
            for (const w of waiters) w.resolve();
            continue;
          }
          const data = lines.length === 1 ? lines[0]! : Buffer.concat(lines);
          let off = 0;
          while (off < data.length) {
            const { bytesWritten } = await this.fh.write(data, off, data.length - off);
            off += bytesWritten;
          }
          if (waiters.length > 0) await this.fh.datasync();
          this.dirty = waiters.length === 0;
          this.backlog -= data.length;
          for (const w of waiters) w.resolve();
        } catch (error) {
          // a failed write leaves the file in an unknown state: refuse further writes (a torn
          // line it may have left is cut by the next open)
          this.failed = storeWriteError(error, this.file, FAILED_WRITE_OUTCOME);
          for (const w of [...waiters, ...this.waiters]) w.reject(this.failed);
          this.waiters = [];
          this.pending = [];
          return;
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  async close(): Promise<void> {
    await this.sync().catch(() => undefined);
    await this.fh.close();
  }
}
