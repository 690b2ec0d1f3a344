/**
 * Queue statistics computed one event at a time (from a store scan or an export stream): counts by
 * status and entity, the oldest pending event, events stuck in `processing` (lease expired or no
 * lease at all: the crashed-browser symptom), failed events by retry count, and payload size
 * percentiles. Memory: one 4-byte size per event, nothing else per event.
 */
import { EVENT_STATUSES, type EventStatus, type QueuedEvent } from "../../core/event.ts";

export interface QueueStats {
  total: number;
  byStatus: Record<EventStatus, number>;
  byEntity: Record<string, number>;
  oldestPending: { id: string; timestamp: number; ageMs: number } | null;
  stuckProcessing: {
    count: number;
    noLease: number;
    leaseExpired: number;
    /** the first few, oldest first */
    sample: { id: string; timestamp: number; leaseUntil: number | null }[];
  };
  failed: { count: number; retries: Record<string, number> };
  payloadBytes: { p50: number; p90: number; p99: number; max: number; total: number };
}

const SAMPLE = 10;

export class StatsAccumulator {
  private total = 0;
  private byStatus = Object.fromEntries(EVENT_STATUSES.map((s) => [s, 0])) as Record<EventStatus, number>;
  private byEntity = new Map<string, number>();
  private oldest: QueuedEvent | undefined;
  private stuck: { id: string; timestamp: number; leaseUntil: number | null }[] = [];
  private noLease = 0;
  private leaseExpired = 0;
  private retries = new Map<number, number>();
  private sizes = new Uint32Array(1024);
  private bytesTotal = 0;

  constructor(private readonly now: number) {}

  add(e: QueuedEvent): void {
    this.total++;
    this.byStatus[e.status] = (this.byStatus[e.status] ?? 0) + 1;
    this.byEntity.set(e.entity, (this.byEntity.get(e.entity) ?? 0) + 1);
    if (e.status === "pending" && (!this.oldest || e.timestamp < this.oldest.timestamp)) this.oldest = e;
    if (e.status === "processing") {
      const lease = typeof e.leaseUntil === "number" ? e.leaseUntil : null;
      if (lease === null || lease < this.now) {
        if (lease === null) this.noLease++;
        else this.leaseExpired++;
        this.stuck.push({ id: e.id, timestamp: e.timestamp, leaseUntil: lease });
        if (this.stuck.length > SAMPLE * 4) this.trimStuck();
      }
    }
    if (e.status === "failed") this.retries.set(e.retryCount, (this.retries.get(e.retryCount) ?? 0) + 1);
    const size = Buffer.byteLength(JSON.stringify(e.payload));
    if (this.total > this.sizes.length) {
      const grown = new Uint32Array(this.sizes.length * 2);
      grown.set(this.sizes);
      this.sizes = grown;
    }
    this.sizes[this.total - 1] = size;
    this.bytesTotal += size;
  }

  private trimStuck(): void {
    this.stuck.sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : 1));
    this.stuck.length = Math.min(this.stuck.length, SAMPLE);
  }

  result(): QueueStats {
    this.trimStuck();
    const sizes = this.sizes.slice(0, this.total).sort();
    const pct = (p: number) => (sizes.length === 0 ? 0 : sizes[Math.min(sizes.length - 1, Math.ceil((p / 100) * sizes.length) - 1)]!);
    const retries = Object.fromEntries([...this.retries.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v]));
    const byEntity = Object.fromEntries([...this.byEntity.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
    return {
      total: this.total,
      byStatus: this.byStatus,
      byEntity,
      oldestPending: this.oldest
        ? { id: this.oldest.id, timestamp: this.oldest.timestamp, ageMs: Math.max(0, this.now - this.oldest.timestamp) }
        : null,
      stuckProcessing: {
        count: this.noLease + this.leaseExpired,
        noLease: this.noLease,
        leaseExpired: this.leaseExpired,
        sample: this.stuck,
      },
      failed: { count: this.byStatus.failed, retries },
      payloadBytes: { p50: pct(50), p90: pct(90), p99: pct(99), max: sizes.length ? sizes[sizes.length - 1]! : 0, total: this.bytesTotal },
    };
  }
}
