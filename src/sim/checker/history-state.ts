/**
 * What the checker knows after the records seen so far: every acked write with how it settled,
 * the ledger and the final server rows, and two indexes that let a read be traced to the writes it
 * shows (values are unique in a run). Memory grows with events and rows; reads are not kept.
 */
import type {
  Effect,
  EndRecord,
  HeaderRecord,
  HistoryRecord,
  RowRecord,
  SettleOutcome,
  SettleStatus,
  WriteRecord,
} from "../history/history-records.ts";
import { canonical } from "./row-values.ts";

/** An acked write as written, plus what became of it. */
export interface WriteState extends Pick<WriteRecord, "client" | "event" | "seq" | "row" | "op" | "effect" | "baseVersion" | "vt" | "fault"> {
  /** the effect the server was last sent: a conflict may resubmit a changed edit */
  lastEffect: Effect;
  /** the last settle */
  settle?: { status: SettleStatus; outcome?: SettleOutcome; version?: number | null; reason?: string; vt: number };
  /** the version an applied, coalesced or duplicate settle reported */
  settledVersion?: number;
  /** a settle said applied, coalesced or duplicate */
  applied: boolean;
  committed: boolean;
  rolledBack: boolean;
  /** its line in the final ledger */
  ledger?: LedgerEntry;
}

export interface LedgerEntry {
  lines: number;
  outcome: string | null;
  version: number | null;
  audited: number;
}

/** Strings as they are (the common case, no copy), anything else as canonical JSON after a marker. */
function valueKey(value: unknown): string {
  return typeof value === "string" ? value : `\u0000${canonical(value)}`;
}

const APPLIED_OUTCOMES: ReadonlySet<string> = new Set(["applied", "coalesced", "duplicate"]);
const WHOLE_ROW = "\u0000*";

export class HistoryState {
  header: HeaderRecord | undefined;
  end: EndRecord | undefined;
  /** acked writes by event id, in history order */
  readonly writes = new Map<string, WriteState>();
  /** acked writes of each row, in history order */
  readonly writesOfRow = new Map<string, WriteState[]>();
  /** ledger lines of events no acked write made (those of acked writes hang on the write) */
  readonly otherLedger = new Map<string, LedgerEntry>();
  /** final server rows */
  readonly serverRows = new Map<string, RowRecord>();
  readonly counts = { writes: 0, acked: 0, refused: 0, reads: 0, duplicates: 0, records: 0 };
  readonly faults: Record<string, number> = {};
  /**
   * value → the write that first set it. Values are unique in a run (`<client>:<seq>`, one write
   * may give it to several keys of its row), so the value alone is the key: one entry per write.
   */
  private readonly valueIndex = new Map<string, WriteState>();
  /** row, key (or the whole row) → client → highest version at which it removed the key */
  private readonly nullWrites = new Map<string, Map<string, number>>();
  /** one copy of each client id and row name, rather than one per record */
  private readonly names = new Map<string, string>();

  add(r: HistoryRecord): void {
    this.counts.records += 1;
    switch (r.type) {
      case "header":
        this.header = r;
        return;
      case "end":
        this.end = r;
        return;
      case "write": {
        this.counts.writes += 1;
        if (r.outcome !== "acked") {
          this.counts.refused += 1;
          return;
        }
        this.counts.acked += 1;
        const w: WriteState = {
          client: this.name(r.client), event: r.event, seq: r.seq, row: this.name(r.row), op: r.op, effect: r.effect, lastEffect: r.effect,
          baseVersion: r.baseVersion, vt: r.vt, applied: false, committed: false, rolledBack: false,
          ...(r.fault !== undefined ? { fault: r.fault } : {}),
        };
        this.writes.set(r.event, w);
        const list = this.writesOfRow.get(w.row);
        if (list) list.push(w);
        else this.writesOfRow.set(w.row, [w]);
        this.indexValues(w, r.effect);
        return;
      }
      case "settle": {
        if (r.outcome === "duplicate") this.counts.duplicates += 1;
        const w = this.writes.get(r.event);
        if (!w) return;
        w.settle = {
          status: r.status, vt: r.vt,
          ...(r.outcome !== undefined ? { outcome: r.outcome } : {}),
          ...(r.version !== undefined ? { version: r.version } : {}),
          ...(r.reason !== undefined ? { reason: r.reason } : {}),
        };
        if (r.effect !== undefined) {
          w.lastEffect = r.effect;
          this.indexValues(w, r.effect);
        }
        if (r.status === "completed" && r.outcome !== undefined && APPLIED_OUTCOMES.has(r.outcome)) {
          w.applied = true;
          if (r.version !== undefined && r.version !== null) {
            w.settledVersion = r.version;
            this.noteVersion(w);
          }
        }
        return;
      }
      case "commit": {
        const w = this.writes.get(r.event);
        if (w) w.committed = true;
        return;
      }
      case "rollback": {
        const w = this.writes.get(r.event);
        if (w) w.rolledBack = true;
        return;
      }
      case "read":
        this.counts.reads += 1;
        return;
      case "fault":
        this.faults[r.kind] = (this.faults[r.kind] ?? 0) + 1;
        return;
      case "row":
        this.serverRows.set(r.row, r);
        return;
      case "ledger": {
        const w = this.writes.get(r.event);
        const entry = w ? w.ledger : this.otherLedger.get(r.event);
        if (entry) {
          entry.lines += 1;
          return;
        }
        const line: LedgerEntry = { lines: 1, outcome: r.outcome, version: r.version, audited: r.audited };
        if (!w) {
          this.otherLedger.set(r.event, line);
          return;
        }
        w.ledger = line;
        if (r.outcome !== null && r.version !== null) this.noteVersion(w);
        return;
      }
      default:
        return;
    }
  }

  /** The version the server applied an event at, as far as is known: the ledger's, else the settle's. */
  appliedVersion(w: WriteState): number | undefined {
    const l = w.ledger;
    if (l && l.outcome !== null && l.version !== null) return l.version;
    return w.settledVersion;
  }

  /** The server applied the event: a settle said so or the ledger holds it. */
  wasApplied(w: WriteState): boolean {
    const l = w.ledger;
    return w.applied || (l !== undefined && l.outcome !== null);
  }

  /** The acked write that first set `key` of `row` to this (non-null) value. */
  attribute(row: string, key: string, value: unknown): WriteState | undefined {
    const w = this.valueIndex.get(valueKey(value));
    return w && w.row === row && (Object.hasOwn(w.effect ?? {}, key) || Object.hasOwn(w.lastEffect ?? {}, key)) ? w : undefined;
  }

  /** Whether a client other than `except` removed `key` of `row` (or the row) at a version above `version`. */
  removedAbove(row: string, key: string, version: number, except?: string): boolean {
    for (const k of [`${row}\u0000${key}`, `${row}${WHOLE_ROW}`]) {
      const byClient = this.nullWrites.get(k);
      if (!byClient) continue;
      for (const [client, v] of byClient) if (client !== except && v > version) return true;
    }
    return false;
  }

  private name(text: string): string {
    const known = this.names.get(text);
    if (known !== undefined) return known;
    this.names.set(text, text);
    return text;
  }

  private indexValues(w: WriteState, effect: Effect): void {
    if (effect === null) return;
    for (const value of Object.values(effect)) {
      if (value === null || value === undefined) continue;
      const k = valueKey(value);
      if (!this.valueIndex.has(k)) this.valueIndex.set(k, w);
    }
  }

  /** Records the key removals of a write once its version is known. */
  private noteVersion(w: WriteState): void {
    const version = this.appliedVersion(w);
    if (version === undefined) return;
    const keys = w.lastEffect === null ? [WHOLE_ROW] : Object.keys(w.lastEffect).filter((k) => w.lastEffect?.[k] === null).map((k) => `\u0000${k}`);
    for (const suffix of keys) {
      const k = `${w.row}${suffix}`;
      let byClient = this.nullWrites.get(k);
      if (!byClient) this.nullWrites.set(k, (byClient = new Map()));
      byClient.set(w.client, Math.max(byClient.get(w.client) ?? -Infinity, version));
    }
  }
}
