/**
 * The user actions every strategy of `bench batching` applies: generated once from a seed, the same
 * for all. Each simulated client edits rows of its own, or (hot-rows) fields of its own in shared
 * rows, so the final state does not depend on how concurrent clients interleave: any difference
 * between strategies is one of a client's own edits applied out of order.
 *
 * - `selection`: the seed's case. AG Grid row toggles on a few charts per client: a click selects a
 *   source (add of the entry) or deselects it (remove); users go back and forth over a few rows.
 * - `mixed`: half chart toggles, half documents (well, polygon, curve) created, edited and removed.
 * - `hot-rows`: every client edits the same few documents, each its own fields (shallow merges).
 */
import type { QueuedEvent } from "../core/event.ts";
import type { WireEvent } from "../core/ports.ts";
import { prng } from "../sim/seeded-random.ts";
import { chartEntry, documentPayload } from "./payloads.ts";

export const WORKLOADS = ["selection", "mixed", "hot-rows"] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export interface WorkloadOptions {
  events: number;
  clients: number;
  seed: number;
}

export interface Workload {
  name: WorkloadName;
  /** rows that exist before the first action (written before the measurement, not counted) */
  setup: WireEvent[];
  /** each client's actions, in the order the client makes them (seq 1, 2, …) */
  perClient: QueuedEvent[][];
  /** every action, interleaved round-robin across clients */
  actions: QueuedEvent[];
  /** how many rows the actions touch */
  rows: number;
}

const CHARTS_PER_CLIENT = 3;
const GRID_ROWS = 40;
const INITIALLY_SELECTED = 8;
const DOC_ENTITIES = ["well", "polygon", "curve"] as const;
const HOT_ROWS = 8;

/** One client's generator state: its charts' selections and its live documents. */
class ClientActions {
  private seq = 0;
  private readonly selected: Set<number>[] = [];
  /** the rows this client toggled last: users click back and forth */
  private readonly recent: [number, number][] = [];
  private readonly docs: { entity: string; id: string }[] = [];
  private docCount = 0;

  constructor(
    readonly client: number,
    private readonly rand: () => number,
    private readonly idPrefix: string,
  ) {
    for (let k = 0; k < CHARTS_PER_CLIENT; k++) this.selected.push(new Set(Array.from({ length: INITIALLY_SELECTED }, (_, i) => i)));
  }

  get clientId(): string {
    return `client-${this.client}`;
  }

  chartId(k: number): string {
    return `chart-c${this.client}-${k}`;
  }

  /** The charts as they are before the first action: INITIALLY_SELECTED sources selected each. */
  setup(): WireEvent[] {
    const out: WireEvent[] = [];
    for (let k = 0; k < CHARTS_PER_CLIENT; k++) {
      for (const n of this.selected[k]!) {
        out.push({ id: `${this.idPrefix}-setup-c${this.client}-${k}-${n}`, type: "add", entity: "chart_data_source", entityId: this.chartId(k), payload: chartEntry(this.rand, n), timestamp: 0, clientId: `setup-${this.client}` });
      }
    }
    return out;
  }

  private event(type: QueuedEvent["type"], entity: string, entityId: string, payload: Record<string, unknown>): QueuedEvent {
    this.seq += 1;
    return { id: `${this.idPrefix}-c${this.client}-${this.seq}`, type, entity, entityId, payload, timestamp: 0, status: "pending", retryCount: 0, clientId: this.clientId, seq: this.seq };
  }

  /** A click on a grid row: most clicks on the chart in front, many on a row clicked just before. */
  toggle(): QueuedEvent {
    const r = this.rand;
    const k = r() < 0.7 ? 0 : 1 + Math.floor(r() * (CHARTS_PER_CLIENT - 1));
    const again = this.recent.filter(([c]) => c === k);
    const n = again.length > 0 && r() < 0.6 ? again[Math.floor(r() * again.length)]![1] : Math.floor(r() * GRID_ROWS);
    this.recent.push([k, n]);
    if (this.recent.length > 6) this.recent.shift();
    const sel = this.selected[k]!;
    if (sel.has(n)) {
      sel.delete(n);
      return this.event("remove", "chart_data_source", this.chartId(k), { id: `src-${n}` });
    }
    sel.add(n);
    return this.event("add", "chart_data_source", this.chartId(k), chartEntry(r, n));
  }

  /** A document created, edited (most often) or removed. */
  document(): QueuedEvent {
    const r = this.rand;
    const x = r();
    if (this.docs.length === 0 || x < 0.25) {
      const entity = DOC_ENTITIES[Math.floor(r() * DOC_ENTITIES.length)]!;
      const id = `${entity}-c${this.client}-${this.docCount++}`;
      this.docs.push({ entity, id });
      return this.event("add", entity, id, documentPayload(r, id));
    }
    const at = Math.floor(r() * Math.min(this.docs.length, 12)) + Math.max(0, this.docs.length - 12);
    const doc = this.docs[at]!;
    if (x < 0.9) return this.event("update", doc.entity, doc.id, { status: r() < 0.5 ? "active" : "archived", depth: Math.round(r() * 1e5) / 100 });
    this.docs.splice(at, 1);
    return this.event("remove", doc.entity, doc.id, {});
  }

  /** An edit of a shared hot document: the client's own fields only, so clients commute. */
  hotEdit(): QueuedEvent {
    const r = this.rand;
    const k = r() < 0.5 ? 0 : Math.floor(r() * HOT_ROWS);
    return this.event("update", "well", `hot-well-${k}`, { [`c${this.client}_depth`]: Math.round(r() * 1e5) / 100, [`c${this.client}_edits`]: this.seq + 1 });
  }
}

export function generateWorkload(name: WorkloadName, o: WorkloadOptions): Workload {
  const rand = prng(o.seed);
  const prefix = `bb${o.seed}`;
  const clients = Array.from({ length: o.clients }, (_, c) => new ClientActions(c, rand, prefix));
  const setup: WireEvent[] = [];
  if (name !== "hot-rows") for (const c of clients) setup.push(...c.setup());
  else {
    for (let k = 0; k < HOT_ROWS; k++) {
      setup.push({ id: `${prefix}-setup-hot-${k}`, type: "add", entity: "well", entityId: `hot-well-${k}`, payload: documentPayload(rand, `hot-well-${k}`), timestamp: 0, clientId: "setup" });
    }
  }
  const perClient: QueuedEvent[][] = clients.map(() => []);
  const actions: QueuedEvent[] = [];
  for (let i = 0; i < o.events; i++) {
    const c = clients[i % clients.length]!;
    const e = name === "selection" ? c.toggle() : name === "mixed" ? (rand() < 0.5 ? c.toggle() : c.document()) : c.hotEdit();
    perClient[c.client]!.push(e);
    actions.push(e);
  }
  const rows = new Set(actions.map((e) => `${e.entity}:${e.entityId}`)).size;
  return { name, setup, perClient, actions, rows };
}
