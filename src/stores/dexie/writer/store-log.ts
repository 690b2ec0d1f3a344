/**
 * The store's appends to its write-ahead log (log/wal-writer.ts) and when each write may answer:
 * once its records are durable, except inside an open atomic group, whose records count only with
 * the group's commit record and so answer at once (unless more than GROUP_BACKLOG_BYTES wait for
 * the disk, which bounds memory). A failed append breaks the store (StoreInternals.broken): memory
 * no longer matches the log.
 */
import type { QueuedEvent } from "../../../core/event.ts";
import type { HistoryEntry } from "../../../core/ports.ts";
import { encodeRecord, type LeaseRecord, type LogRecord } from "../log/log-record.ts";
import type { StoreInternals } from "../store-internals.ts";

/** log bytes an atomic group may have waiting for the disk before its writes wait too */
const GROUP_BACKLOG_BYTES = 8 * 1024 * 1024;

export class StoreLog {
  constructor(private readonly state: StoreInternals) {}

  /**
   * Appends records to the log; resolves once they are durable. Records of an open atomic group
   * resolve at once (within the backlog bound): the group's commit waits for them (the log is
   * written in order) and a failed write fails the commit.
   */
  append(records: LogRecord[]): Promise<void> {
    const wal = this.state.wal!;
    const cipher = this.state.cipher;
    const p = wal.append(records.map((r) => encodeRecord(cipher ? cipher.seal(r) : r)));
    p.catch((error: unknown) => {
      this.state.broken ??= error;
    });
    const inGroup = records.every((r) => r.k !== "commit" && r.k !== "abort" && "tx" in r && r.tx !== undefined);
    return inGroup && wal.backlog <= GROUP_BACKLOG_BYTES ? Promise.resolve() : p;
  }

  /** Logs new row images and history; resolves once they are durable. */
  events(rows: QueuedEvent[], hist: HistoryEntry[], tx: string | undefined): Promise<void> {
    const records: LogRecord[] = [];
    if (rows.length) records.push({ k: "ev", rows, ...(tx ? { tx } : {}) });
    if (hist.length) records.push({ k: "hist", rows: hist, ...(tx ? { tx } : {}) });
    return this.append(records);
  }

  /** Logs a claim's leases without waiting for the disk: read-only opens see them once written. */
  leases(record: LeaseRecord): void {
    this.state.wal!.write([encodeRecord(record)]);
  }

  /** For writes that changed nothing: durable once what they saw is durable. */
  settled(): Promise<void> {
    return this.state.wal ? this.state.wal.sync() : Promise.resolve();
  }
}
