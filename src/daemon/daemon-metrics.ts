/**
 * The daemon's own series, registered in the engine's metrics registry so that `/metrics` serves
 * one exposition: control API requests, batches applied for browsers through POST /v1/batches,
 * whether the loop is paused, and row changes received from the change feed.
 */
import { Counter, Gauge } from "prom-client";
import type { Metrics } from "./prometheus-metrics.ts";

export function createDaemonMetrics(metrics: Metrics) {
  const registers = [metrics.registry];
  return {
    httpRequests: new Counter({
      name: "mudsync_daemon_http_requests_total",
      help: "Control API requests answered, by route and status code",
      labelNames: ["route", "status"] as const,
      registers,
    }),
    browserEvents: new Counter({
      name: "mudsync_daemon_browser_batch_events_total",
      help: "Events applied for browsers through POST /v1/batches, by outcome",
      labelNames: ["outcome"] as const,
      registers,
    }),
    paused: new Gauge({ name: "mudsync_daemon_paused", help: "1 while the drain loop is paused", registers }),
    rowChanges: new Counter({ name: "mudsync_daemon_row_changes_total", help: "Row changes received from the change feed", registers }),
    cacheAltered: new Counter({
      name: "mudsync_cache_entries_altered_total",
      help: "Cache entries of the local store found altered on disk (rejected, never served, fetched again)",
      registers,
    }),
  };
}

export type DaemonMetrics = ReturnType<typeof createDaemonMetrics>;
