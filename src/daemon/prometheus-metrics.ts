/**
 * The engine's metrics port (core/metrics.ts) made of one prom-client registry with typed handles,
 * all names prefixed `mudsync_`, plus the queue gauges the daemon sets. Default process metrics
 * are off unless asked for (`processMetrics: true`).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { CONFLICT_RESOLUTIONS } from "../core/metrics.ts";

export interface MetricsOptions {
  /** also collect prom-client's default process metrics (CPU, memory, event loop) */
  processMetrics?: boolean;
  /** labels added to every series (e.g. { worker: "a" }) */
  defaultLabels?: Record<string, string>;
}

const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600];

export function createMetrics(options: MetricsOptions = {}) {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: "mudsync_" });
  const registers = [registry];
  const counter = <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name: `mudsync_${name}`, help, labelNames, registers });
  const gauge = <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name: `mudsync_${name}`, help, labelNames, registers });

  return {
    registry,
    eventsApplied: counter("events_applied_total", "Events the server applied (coalesced events included)"),
    eventsDuplicate: counter("events_duplicate_total", "Events the server had already applied"),
    conflicts: counter<"resolution">("conflicts_total", `Version conflicts, by how they were resolved (${CONFLICT_RESOLUTIONS.join(", ")})`, ["resolution"]),
    retries: counter("retries_total", "Failed attempts scheduled for another try"),
    dead: counter("dead_total", "Events moved to dead (max attempts or permanent error)"),
    rejected: counter("rejected_total", "Events the server rejected permanently"),
    roundTrips: counter("round_trips_total", "Batches sent to the server"),
    batchSize: new Histogram({
      name: "mudsync_batch_size",
      help: "Wire events per batch sent",
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    }),
    enqueueToApplied: new Histogram({
      name: "mudsync_enqueue_to_applied_seconds",
      help: "Time from an event's timestamp to the server applying it",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    oldestPendingAge: gauge("oldest_pending_age_seconds", "Age of the oldest pending event"),
    queueEvents: gauge("queue_events", "Events in the queue, by status", ["status"]),
    headStuck: gauge("head_stuck", "1 when the head of the queue has not moved for the configured time"),
    /** Prometheus text exposition of every metric. */
    text: (): Promise<string> => registry.metrics(),
    contentType: registry.contentType,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
