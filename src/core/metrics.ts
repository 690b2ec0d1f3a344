/**
 * What the engine counts, as a port: the daemon backs it with a Prometheus registry
 * (daemon/prometheus-metrics.ts); the core imports no metrics library.
 */

export const CONFLICT_RESOLUTIONS = ["resubmitted", "dropped", "parked"] as const;
export type ConflictResolution = (typeof CONFLICT_RESOLUTIONS)[number];

export interface CounterMetric {
  inc(): void;
}

export interface HistogramMetric {
  observe(value: number): void;
}

export interface EngineMetrics {
  /** events the server applied (coalesced events included) */
  eventsApplied: CounterMetric;
  eventsDuplicate: CounterMetric;
  conflicts: { inc(labels: { resolution: ConflictResolution }): void };
  retries: CounterMetric;
  dead: CounterMetric;
  rejected: CounterMetric;
  /** batches sent to the server */
  roundTrips: CounterMetric;
  /** wire events per batch */
  batchSize: HistogramMetric;
  /** seconds from an event's timestamp to the server applying it */
  enqueueToApplied: HistogramMetric;
}
