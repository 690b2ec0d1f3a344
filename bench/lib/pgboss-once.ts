/** One pg-boss run (bench/tasks/pgboss.ts) on a fresh database, dropped after. */
import { createTestDatabase } from "../../tests/helpers/pg.ts";
import type { PgBossParams, PgBossResult } from "../tasks/pgboss.ts";
import { runTask } from "./run-task.ts";

export async function pgBossOnce(n: number, batchSize: number, analyze = false): Promise<{ r: PgBossResult; peakRssMb: number | null }> {
  const database = await createTestDatabase("mudsync_bench_pgboss");
  try {
    const { result, run } = await runTask<PgBossResult>("pgboss", { dbUrl: database.url, events: n, batchSize, analyze } satisfies PgBossParams);
    return { r: result, peakRssMb: run.peakRssMb };
  } finally {
    await database.drop();
  }
}
