/**
 * Appends history records: to the checker as they happen (so a run is judged without reading the
 * file back) and, with `--history`, to an NDJSON file written in large chunks.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import type { HistoryRecord } from "../history/history-records.ts";
import { MudsyncError } from "../../errors.ts";

type Timed<R> = R extends { vt: number; wt: number } ? Omit<R, "vt" | "wt"> : R;
export type UntimedRecord = { [K in HistoryRecord["type"]]: Timed<Extract<HistoryRecord, { type: K }>> }[HistoryRecord["type"]];

const CHUNK = 256 * 1024;

export class HistoryWriter {
  private out: WriteStream | undefined;
  private buffer: string[] = [];
  private bytes = 0;
  private readonly startedAt = performance.now();
  readonly faults: Record<string, number> = {};
  records = 0;

  constructor(
    private readonly vt: () => number,
    private readonly sinks: ((r: HistoryRecord) => void)[],
    file?: string,
  ) {
    if (file) {
      this.out = createWriteStream(file, { flags: "w" });
      // a write that fails (disk full) ends the file; close() reports it
      this.out.on("error", (err) => {
        this.failed ??= err;
        this.out = undefined;
      });
    }
  }

  private failed: Error | undefined;

  /** Wall ms since the run started. */
  wall(): number {
    return Math.round(performance.now() - this.startedAt);
  }

  /** Records one operation, stamping virtual and wall time on the records that carry them. */
  write(record: UntimedRecord): void {
    const r = ("client" in record || record.type === "fault" ? { ...record, vt: this.vt(), wt: this.wall() } : record) as HistoryRecord;
    if (r.type === "fault") this.faults[r.kind] = (this.faults[r.kind] ?? 0) + 1;
    this.records += 1;
    for (const s of this.sinks) s(r);
    if (!this.out) return;
    const line = `${JSON.stringify(r)}\n`;
    this.buffer.push(line);
    this.bytes += line.length;
    if (this.bytes >= CHUNK) this.flushSoon();
  }

  private flushSoon(): void {
    const out = this.out;
    if (!out || this.buffer.length === 0) return;
    out.write(this.buffer.join(""));
    this.buffer = [];
    this.bytes = 0;
  }

  /** Waits for the file to drain when the stream is behind (keeps memory bounded on long runs). */
  async pace(): Promise<void> {
    if (this.out?.writableNeedDrain) await once(this.out, "drain");
  }

  async close(): Promise<void> {
    this.flushSoon();
    const out = this.out;
    this.out = undefined;
    if (out) await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (this.failed) throw new MudsyncError(`history file: writing it failed (${(this.failed as NodeJS.ErrnoException).code ?? this.failed.message})`);
  }
}
