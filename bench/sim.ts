/**
 * Simulation benchmark on the real server: the 50-client, two-hour offline scenario (target: under
 * 60 s of wall time), and what a simulated client costs in memory — the same small workload with
 * 10 and with 100 clients, each in its own process, RSS per added client (target: a few MB).
 */
import { createTestDatabase, realPgAvailable } from "../tests/helpers/pg.ts";
import type { BenchReport } from "./lib/report.ts";
import { runTask } from "./lib/run-task.ts";
import type { SimRunParams, SimRunTaskResult } from "./tasks/sim-run.ts";

const verdict = (r: SimRunTaskResult) => (r.pass ? "verdict pass" : `verdict FAIL (${r.failing.join(", ")})`);

export async function runSimBench(report: BenchReport, quick: boolean, only?: string): Promise<void> {
  if (!(await realPgAvailable())) {
    report.unavailable("sim", "PostgreSQL at 127.0.0.1:5432 does not answer");
    return;
  }
  const db = await createTestDatabase("mudsync_bench_sim");
  try {
    Object.assign(report.params, { sink: "real server (own database, schema mudsync_sim)" });
    if (!only || only === "offline") {
      const scenario = quick ? "offline-8-merge" : "offline-50-merge";
      const { result: r } = await runTask<SimRunTaskResult>("sim-run", { scenario, sink: db.url } satisfies SimRunParams, { timeoutMs: 600_000 });
      report.add({
        id: "sim.offline50.wallMs",
        label: `${scenario}: ${r.acked} events, ${Math.round(r.virtualMs / 60_000)} virtual minutes`,
        value: r.wallMs,
        unit: "ms",
        ...(quick ? {} : { target: { op: "<=" as const, value: 60_000 } }),
        note: `${verdict(r)}; ${r.batches} batches; peak RSS ${r.peakRssMb} MB; outcomes ${JSON.stringify(r.settled)}`,
      });
    }
    if (!only || only === "clients") {
      const counts = quick ? [4, 20] : [10, 100];
      const runs: SimRunTaskResult[] = [];
      for (const clients of counts) {
        const { result } = await runTask<SimRunTaskResult>("sim-run", { scenario: "offline-8-merge", sink: db.url, clients } satisfies SimRunParams, { timeoutMs: 600_000 });
        runs.push(result);
        report.add({
          id: `sim.clients${clients}.peakRssMb`,
          label: `offline-8-merge with ${clients} clients: peak RSS of the process`,
          value: result.peakRssMb,
          unit: "MB",
          note: `${verdict(result)}; ${result.acked} events in ${result.wallMs} ms; heap ${result.heapUsedMb} MB at the end`,
        });
      }
      const [a, b] = runs;
      report.add({
        id: "sim.rssPerClientMb",
        label: `RSS per simulated client (${counts[0]} → ${counts[1]} clients)`,
        value: a && b ? Math.round(((b.peakRssMb - a.peakRssMb) / (counts[1]! - counts[0]!)) * 100) / 100 : null,
        unit: "MB",
        target: { op: "<=", value: 5 },
        note: "each client holds its own Dexie store (fake-indexeddb), engine, TTL cache and optimistic state",
      });
    }
  } finally {
    await db.drop();
  }
}
