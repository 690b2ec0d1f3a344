/**
 * Peer task: pg-boss on a fresh database — send the events with its batch insert, then complete
 * them with batch fetch + complete, the way a worker at this batch size would. The database
 * backends' CPU time for the fetch + complete phase is measured alongside its wall time.
 */
import pg from "pg";
import PgBoss from "pg-boss";
import { cpuSpentMs, databaseCpu } from "../lib/database-cpu.ts";
import { pendingEvents } from "../lib/events.ts";
import { now, percentile, perSecond } from "../lib/stats.ts";
import { runTaskMain } from "../lib/task-io.ts";

export interface PgBossParams {
  dbUrl: string;
  events: number;
  batchSize: number;
  /** run VACUUM ANALYZE on the job table between inserting and fetching (default false) */
  analyze?: boolean;
}

export interface PgBossResult {
  insertPerSec: number;
  jobsPerSec: number;
  roundTrips: number;
  completed: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  durationMs: number;
  /** the database backends' CPU time during fetch + complete (null if /proc is not readable) */
  serverCpuMs: number | null;
}

const QUEUE = "mudsync-bench";
const INSERT_CHUNK = 1000;

async function main(p: PgBossParams): Promise<PgBossResult> {
  // no cron and no maintenance loop during the measurement: only the work itself is timed
  const boss = new PgBoss({ connectionString: p.dbUrl, schema: "pgboss_bench", schedule: false, supervise: false, max: 4 });
  boss.on("error", (err: Error) => process.stderr.write(`pg-boss: ${err.message}\n`));
  const admin = new pg.Client({ connectionString: p.dbUrl });
  await admin.connect();
  await boss.start();
  try {
    await boss.createQueue(QUEUE);
    const events = pendingEvents(p.events, 31);
    const sentAt = new Map<string, number>();
    let t = now();
    for (let i = 0; i < events.length; i += INSERT_CHUNK) {
      const chunk = events.slice(i, i + INSERT_CHUNK);
      await boss.insert(chunk.map((e) => ({ id: crypto.randomUUID(), name: QUEUE, data: e })));
      const at = now();
      for (const e of chunk) sentAt.set(e.id, at);
    }
    const insertMs = now() - t;
    if (p.analyze) await admin.query("vacuum analyze pgboss_bench.job");
    // each timed part starts right after a checkpoint, so none pays for full-page writes the other left
    await admin.query("checkpoint");

    const latencies: number[] = [];
    let roundTrips = 0;
    let completed = 0;
    const cpu0 = await databaseCpu(admin);
    t = now();
    for (;;) {
      const jobs = await boss.fetch<{ id: string }>(QUEUE, { batchSize: p.batchSize });
      roundTrips++;
      if (jobs.length === 0) break;
      await boss.complete(QUEUE, jobs.map((j) => j.id));
      roundTrips++;
      const done = now();
      for (const j of jobs) latencies.push(done - (sentAt.get(j.data.id) ?? done));
      completed += jobs.length;
    }
    const durationMs = now() - t;
    const serverCpuMs = cpuSpentMs(cpu0, await databaseCpu(admin));
    return {
      insertPerSec: perSecond(events.length, insertMs),
      jobsPerSec: perSecond(completed, durationMs),
      roundTrips,
      completed,
      latencyP50Ms: percentile(latencies, 50),
      latencyP99Ms: percentile(latencies, 99),
      durationMs,
      serverCpuMs,
    };
  } finally {
    await boss.stop({ graceful: false, wait: true, close: true });
    await admin.end().catch(() => {});
  }
}

runTaskMain(main);
