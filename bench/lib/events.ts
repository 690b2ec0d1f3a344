/**
 * Deterministic, realistic events for the benchmarks: the seed's entities (chart data-source
 * entries and well/polygon/curve documents), uuid-like ids, payloads of a few hundred bytes, and
 * the status mix of a real stuck queue (completed history, a few processing/failed, a pending tail).
 */
import type { QueuedEvent, WireEventLike } from "./event-types.ts";
import { prng } from "../../src/sim/seeded-random.ts";
import { chartEntry, documentPayload, uuidLike } from "../../src/bench-batching/payloads.ts";

export { documentPayload, uuidLike };

const DOC_ENTITIES = ["well", "polygon", "curve"] as const;

/** The status of event i in a queue of n: old completed history, some stuck, a pending tail. */
function statusFor(i: number, n: number, rand: () => number): QueuedEvent["status"] {
  const pos = i / n;
  if (pos < 0.4) return rand() < 0.97 ? "completed" : "failed";
  if (pos < 0.45) return rand() < 0.5 ? "processing" : "failed";
  return "pending";
}

/**
 * Event i of a queue of n (ids are unique per seed). Timestamps increase with i, one every
 * 100 ms from `baseTime`, as a browser session would produce them.
 */
export function queueEvent(i: number, n: number, rand: () => number, baseTime: number): QueuedEvent {
  const r = rand();
  const status = statusFor(i, n, rand);
  const failed = status === "failed";
  if (r < 0.35) {
    const chart = `chart-${Math.floor(rand() * 200)}`;
    return {
      id: uuidLike(rand),
      type: rand() < 0.7 ? "add" : "remove",
      entity: "chart_data_source",
      entityId: chart,
      payload: chartEntry(rand),
      timestamp: baseTime + i * 100,
      status,
      retryCount: failed ? 1 + Math.floor(rand() * 3) : 0,
    };
  }
  const entity = DOC_ENTITIES[Math.floor(rand() * DOC_ENTITIES.length)]!;
  const docId = `${entity}-${Math.floor(rand() * 5000)}`;
  return {
    id: uuidLike(rand),
    type: rand() < 0.6 ? "add" : "update",
    entity,
    entityId: docId,
    payload: documentPayload(rand, docId),
    timestamp: baseTime + i * 100,
    status,
    retryCount: failed ? 1 + Math.floor(rand() * 3) : 0,
  };
}

/** Events ready to enqueue (pending, fresh ids). */
export function pendingEvents(count: number, seed: number, baseTime = Date.now()): QueuedEvent[] {
  const rand = prng(seed);
  const out: QueuedEvent[] = [];
  for (let i = 0; i < count; i++) out.push({ ...queueEvent(i, count, rand, baseTime), status: "pending", retryCount: 0 });
  return out;
}

export type SinkWorkload = "adds" | "mixed";

export interface SinkEventOptions {
  /** makes the ids of created documents unique to one measurement */
  runTag: string;
  /** the tag `seedEvents` used for the documents that `mixed` updates */
  seedTag: string;
  seed: number;
}

/**
 * Server-side events for the sink benchmark. `adds`: every event creates a distinct document.
 * `mixed`: half create new documents, half update documents that `seedEvents` created (a
 * shallow-merge of a few fields, last-writer-wins as browser exports have no baseVersion). No
 * document is updated twice within 12,000 consecutive events, so a batch never edits a row twice.
 */
export function sinkEvents(workload: SinkWorkload, count: number, o: SinkEventOptions): WireEventLike[] {
  const rand = prng(o.seed);
  const out: WireEventLike[] = [];
  const t0 = Date.now();
  for (let i = 0; i < count; i++) {
    const entity = DOC_ENTITIES[i % DOC_ENTITIES.length]!;
    const update = workload === "mixed" && i % 2 === 1;
    const entityId = update ? seedDocId(o.seedTag, entity, Math.floor(i / 6) % SEED_DOCS) : `${o.runTag}-${entity}-${i}`;
    out.push({
      id: uuidLike(rand),
      type: update ? "update" : "add",
      entity,
      entityId,
      payload: update ? { status: rand() < 0.5 ? "active" : "archived", depth: Math.round(rand() * 1e5) / 100 } : documentPayload(rand, entityId),
      timestamp: t0 + i,
      clientId: `bench-client-${i % 8}`,
      seq: i,
    });
  }
  return out;
}

/** How many existing documents per entity the `mixed` workload updates. */
export const SEED_DOCS = 2000;

export function seedDocId(runTag: string, entity: string, k: number): string {
  return `${runTag}-seed-${entity}-${k}`;
}

/** The documents the `mixed` workload updates, as `add` events. */
export function seedEvents(runTag: string, seed: number): WireEventLike[] {
  const rand = prng(seed);
  const out: WireEventLike[] = [];
  for (const entity of DOC_ENTITIES) {
    for (let k = 0; k < SEED_DOCS; k++) {
      const entityId = seedDocId(runTag, entity, k);
      out.push({ id: uuidLike(rand), type: "add", entity, entityId, payload: documentPayload(rand, entityId), timestamp: Date.now(), clientId: "bench-seed", seq: k });
    }
  }
  return out;
}
