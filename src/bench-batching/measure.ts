/**
 * One measurement window: wall time, CPU time and peak RSS of this process, and when each user
 * action was applied. Peak RSS comes from the kernel's high-water mark, reset at the start of the
 * window (/proc/self/clear_refs); where that is not possible, from sampling every 20 ms.
 */
import { readFileSync, writeFileSync } from "node:fs";

export interface Window {
  wallMs: number;
  cpuMs: number;
  peakRssMb: number | null;
  /** ms from the start of the window to each action's apply */
  appliedMs: number[];
}

export interface Probe {
  /** these actions are applied now */
  applied(count: number): void;
}

function resetPeakRss(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

function kernelPeakRssMb(): number | null {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Runs `fn` as one window; every action must be reported through the probe once (and to `onApplied`, for progress). */
export async function measureWindow(fn: (probe: Probe) => Promise<void>, onApplied?: (count: number) => void): Promise<Window> {
  const appliedMs: number[] = [];
  const kernel = resetPeakRss();
  let sampled = process.memoryUsage.rss();
  const sampler = kernel
    ? undefined
    : setInterval(() => {
        sampled = Math.max(sampled, process.memoryUsage.rss());
      }, 20);
  sampler?.unref();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    await fn({
      applied(count) {
        const at = performance.now() - t0;
        for (let i = 0; i < count; i++) appliedMs.push(at);
        onApplied?.(count);
      },
    });
  } finally {
    if (sampler) clearInterval(sampler);
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const peakRssMb = kernel ? kernelPeakRssMb() : Math.max(sampled, process.memoryUsage.rss()) / 2 ** 20;
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, peakRssMb, appliedMs };
}

/** Nearest-rank quantile (q in 0..1) of unsorted samples; null when there are none. */
export function quantile(samples: readonly number[], q: number): number | null {
  if (samples.length === 0) return null;
  const sorted = Float64Array.from(samples).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The median and the spread of repeated figures: (max − min) ÷ median. */
export function medianAndSpread(values: readonly number[]): { median: number; min: number; max: number; spread: number } {
  const median = quantile(values, 0.5) ?? Number.NaN;
  const min = Math.min(...values);
  const max = Math.max(...values);
  return { median, min, max, spread: median > 0 ? (max - min) / median : 0 };
}
