/**
 * What the checker returns: one line per invariant (violations, the first examples, how many
 * things it checked) and counts describing the run. `Tally` collects one invariant's line.
 */

import type { HistoryRecord } from "../history/history-records.ts";

export const INVARIANT_NAMES = [
  "nothing-lost",
  "nothing-twice",
  "per-row-order",
  "read-your-writes",
  "deselected-reappeared",
  "monotonic-reads",
  "monotonic-writes",
  "writes-follow-reads",
  "convergence",
  "optimistic",
] as const;
export type InvariantName = (typeof INVARIANT_NAMES)[number];

/** One violation, for people: where it happened and a sentence saying what went wrong. */
export interface Example {
  client?: string;
  event?: string;
  row?: string;
  vt?: number;
  message: string;
}

export interface InvariantResult {
  name: InvariantName;
  violations: number;
  /** the first few violations found */
  examples: Example[];
  /** how many things (writes, reads, rows) the invariant looked at */
  checked: number;
}

export interface VerdictStats {
  clients: number;
  writes: number;
  acked: number;
  refused: number;
  /** `read` records (final views not included) */
  reads: number;
  /** acked writes by their last settle, keyed `status/outcome` (or `status`, or `unsettled`) */
  settled: Record<string, number>;
  /** `fault` records by kind */
  faults: Record<string, number>;
  /** events the run enqueued (the end record's count, else the acked writes) */
  events: number;
  durationVt: number;
  durationWt: number;
  /** acked writes the server applied (applied, coalesced, or applied before a duplicate delivery) */
  applied: number;
  /** settles whose outcome was `duplicate` */
  duplicates: number;
}

export interface Verdict {
  pass: boolean;
  invariants: InvariantResult[];
  stats: VerdictStats;
}

export const MAX_EXAMPLES = 5;

export class Tally {
  violations = 0;
  checked = 0;
  readonly examples: Example[] = [];

  constructor(readonly name: InvariantName) {}

  violation(example: Example): void {
    this.violations += 1;
    if (this.examples.length < MAX_EXAMPLES) this.examples.push(example);
  }

  result(): InvariantResult {
    return { name: this.name, violations: this.violations, examples: [...this.examples], checked: this.checked };
  }
}

/** One invariant (or a small group): fed each record after the shared state took it, then finished. */
export interface InvariantCheck {
  record?(r: HistoryRecord): void;
  finish(): void;
  readonly tallies: Tally[];
}
