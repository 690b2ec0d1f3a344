/** One pg-boss run (bench/tasks/pgboss.ts) on a fresh database, dropped after; and the median the drain parts take over reps. */
import { createTestDatabase } from "../../tests/helpers/pg.ts";
import type { PgBossParams, PgBossResult } from "../tasks/pgboss.ts";
import { runTask } from "./run-task.ts";
import { median } from "./stats.ts";

export async function pgBossOnce(n: number, batchSize: number, analyze = false): Promise<{ r: PgBossResult; peakRssMb: number | null }> {
  const database = await createTestDatabase("mudsync_bench_pgboss");
  try {
    const { result, run } = await runTask<PgBossResult>("pgboss", { dbUrl: database.url, events: n, batchSize, analyze } satisfies PgBossParams);
    return { r: result, peakRssMb: run.peakRssMb };
  } finally {
    await database.drop();
  }
}

/** Median of the known values; null when there are none. */
export function medianOf(xs: (number | null | undefined)[]): number | null {
  const known = xs.filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  return known.length ? median(known) : null;
}
