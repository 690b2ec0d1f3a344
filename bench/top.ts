/**
 * `npm run bench -- top`: how quickly `mudsync top` refreshes with a large queue. A store of 100k
 * events (the benchmarks' stuck-queue mix) is read directly (`top --once --json`, the whole CLI, next
 * to `queue ls --json` on the same store), then a daemon is started on it and drains it while the
 * dashboard's refresh (GET /v1/status, /v1/activity, one page of /v1/events, the oldest pending)
 * is timed again and again, next to GET /healthz on the same daemon.
 */
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DaemonSource } from "../src/commands/top/daemon-source.ts";
import { ControlClient } from "../src/commands/shared/control-client.ts";
import { DEFAULT_FILTER } from "../src/tui/top/filter.ts";
import { startDaemon } from "../tests/helpers/daemon-process.ts";
import { writeDexieExport } from "./lib/dexie-export-file.ts";
import type { BenchReport } from "./lib/report.ts";
import { firstErrorLine, runCli } from "./lib/run-measured.ts";
import { median, percentile, sizeLabel as k } from "./lib/stats.ts";
import { withTempDir } from "./lib/temp-dir.ts";

export async function runTopBench(report: BenchReport, quick: boolean): Promise<void> {
  const p = quick ? { size: 10_000, refreshes: 20 } : { size: 100_000, refreshes: 100 };
  Object.assign(report.params, p, { pageSize: 30, pauseBetweenMs: 100 });
  await withTempDir("top", async (dir) => {
    const file = path.join(dir, "export.json");
    await writeDexieExport(file, p.size, 11);
    const store = path.join(dir, "store");
    const imported = await runCli(["queue", "import", file, "--store", store], { timeoutMs: 600_000 });
    if (imported.code !== 0) throw new Error(`queue import: ${firstErrorLine(imported)}`);

    const once = await runCli(["top", "--once", "--json", "--limit", "30", "--store", store], { timeoutMs: 300_000 });
    if (once.code !== 0) throw new Error(`top --once: ${firstErrorLine(once)}`);
    const ls = await runCli(["queue", "ls", "--json", "--limit", "30", "--store", store], { timeoutMs: 300_000 });
    report.add({
      id: `store.${k(p.size)}.once.ms`,
      label: `top --once --json on a ${k(p.size)}-event store read directly (doctor included), whole CLI run`,
      value: once.wallMs,
      unit: "ms",
      baselines: [{ label: "queue ls --json, same store", value: ls.wallMs, unit: "ms" }],
      note: `peak RSS ${Math.round(once.peakRssMb ?? 0)} MB`,
    });

    const daemon = await startDaemon(["--store", store]);
    try {
      const client = new ControlClient(daemon.url, 30_000, daemon.token);
      const source = new DaemonSource(client, client);
      const refresh: number[] = [];
      const health: number[] = [];
      let first: number | undefined;
      let last: number | undefined;
      for (let i = 0; i < p.refreshes; i++) {
        let t = performance.now();
        const s = await source.snapshot({ filter: DEFAULT_FILTER, limit: 30 });
        refresh.push(performance.now() - t);
        first ??= s.counts.completed;
        last = s.counts.completed;
        t = performance.now();
        await client.get("/healthz");
        health.push(performance.now() - t);
        await sleep(100);
      }
      report.add({
        id: `daemon.${k(p.size)}.refresh.p99.ms`,
        label: `top's refresh over a daemon holding ${k(p.size)} events while it drains, p99 of ${p.refreshes}`,
        value: percentile(refresh, 99),
        unit: "ms",
        baselines: [{ label: "GET /healthz, same daemon, p99", value: percentile(health, 99), unit: "ms" }],
        target: { op: "<=", value: 500 },
        note: `median ${Math.round(median(refresh))} ms; completed ${first} → ${last} during the refreshes`,
      });
    } finally {
      daemon.child.kill("SIGKILL");
      await daemon.exited;
    }
  });
}
