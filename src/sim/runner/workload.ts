/**
 * The generator: a client's user actions, drawn lazily from its own seeded stream so that the same
 * seed gives the same actions in every run and a million actions never sit in memory at once.
 * Action k of N falls at (k + r) × duration / N, so times grow and spread over the duration.
 */
import { prng } from "../seeded-random.ts";
import type { Scenario } from "../scenario/resolve-scenario.ts";

import type { ActionKind } from "../scenario/resolve-scenario.ts";
export type { ActionKind };

export interface Action {
  /** virtual ms since the epoch */
  at: number;
  kind: ActionKind;
  entity: string;
  entityId: string;
  /** chart rows: the entry the action is about */
  entry?: string;
  /** documents: which fields an update sets (indexes into DOCUMENT_FIELDS) */
  fields: number[];
}

interface RowRef {
  entity: string;
  id: string;
  entries: number;
}

/** Every row the workload touches, hot rows first (in the order the scenario lists entities). */
export function workloadRows(scenario: Scenario): RowRef[] {
  const rows: RowRef[] = [];
  for (const e of scenario.workload.entities) {
    for (let n = 1; n <= e.rows; n++) rows.push({ entity: e.entity, id: `${e.entity}-${n}`, entries: e.entries ?? 0 });
  }
  return rows;
}

/** One stream per client, independent of the other clients' count. */
export function clientSeed(seed: number, clientIndex: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(clientIndex + 1, 0xc2b2ae35)) >>> 0;
}

export class ActionStream {
  private readonly random: () => number;
  private k = 0;
  private readonly kinds: { kind: ActionKind; upTo: number }[] = [];
  /** where each entity's rows start in `rows`, and how many it has */
  private readonly firstOf = new Map<string, { at: number; count: number }>();

  constructor(
    private readonly scenario: Scenario,
    clientIndex: number,
    private readonly rows: RowRef[] = workloadRows(scenario),
  ) {
    this.random = prng(clientSeed(scenario.seed, clientIndex));
    this.rows.forEach((row, i) => {
      const f = this.firstOf.get(row.entity);
      if (f) f.count += 1;
      else this.firstOf.set(row.entity, { at: i, count: 1 });
    });
    const mix = scenario.workload.mix;
    const total = (["add", "update", "remove", "read"] as const).reduce((s, k) => s + (mix[k] ?? 0), 0);
    let acc = 0;
    for (const kind of ["add", "update", "remove", "read"] as const) {
      acc += (mix[kind] ?? 0) / (total || 1);
      this.kinds.push({ kind, upTo: acc });
    }
  }

  get total(): number {
    return this.scenario.workload.actionsPerClient;
  }

  get done(): number {
    return this.k;
  }

  /** The next action, or undefined once the client has made all of its actions. */
  next(): Action | undefined {
    const { actionsPerClient: n, durationMs, hot } = this.scenario.workload;
    if (this.k >= n || this.rows.length === 0) return undefined;
    const r = this.random;
    const at = Math.floor(((this.k + r()) * durationMs) / n);
    this.k += 1;
    const pick = r();
    const kind = this.kinds.find((k) => pick < k.upTo)?.kind ?? "read";
    const rowPick = r();
    const hotPick = r();
    let row = this.rows[Math.floor(rowPick * this.rows.length)]!;
    if (hot && hotPick < hot.share) {
      // a hot action: one of the first `hot.rows` rows of the entity the uniform pick landed on
      const first = this.firstOf.get(row.entity)!;
      row = this.rows[first.at + Math.floor(r() * Math.min(hot.rows, first.count))]!;
    }
    const entryPick = r();
    const fieldPick = r();
    const twoFields = r() < 0.5;
    const action: Action = { at, kind, entity: row.entity, entityId: row.id, fields: [] };
    if (row.entries > 0) action.entry = `curve-${1 + Math.floor(entryPick * row.entries)}`;
    else {
      const first = Math.floor(fieldPick * 3);
      action.fields = twoFields ? [first, (first + 1) % 3] : [first];
    }
    return action;
  }
}
