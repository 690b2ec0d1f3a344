/** How a rate and the time left read on a progress bar: `1,234 rows/s · ETA 12 s`, bytes as MB/s. */
import { formatDuration } from "../core/format-duration.ts";
import type { RateEstimate } from "../core/rate-meter.ts";

export function formatRate(rate: number, unit: string): string {
  if (unit === "bytes") {
    if (rate >= 1024 * 1024) return `${(rate / (1024 * 1024)).toFixed(1)} MB/s`;
    return `${Math.round(rate / 1024).toLocaleString("en-US")} kB/s`;
  }
  // slow work (a benchmark's figures) reads better per minute than as "0/s"
  if (rate < 1) return `${(rate * 60).toFixed(1)} ${unit}/min`;
  return `${Math.round(rate).toLocaleString("en-US")} ${unit}/s`;
}

/** ` · 1,234 rows/s · ETA 12 s`, the parts that are known ("" when none is). */
export function rateAndEta(e: RateEstimate, unit: string): string {
  const parts: string[] = [];
  if (e.rate !== null) parts.push(formatRate(e.rate, unit));
  if (e.etaMs !== null) parts.push(`ETA ${formatDuration(e.etaMs)}`);
  return parts.map((p) => ` · ${p}`).join("");
}
