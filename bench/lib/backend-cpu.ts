/**
 * Server CPU time of one PostgreSQL backend (utime + stime of /proc/<pid>/stat, in ms), and a
 * measurement of apply_batch vs multi-row INSERT vs COPY by that CPU time as well as wall time.
 * CPU time of the backend is what to compare on a machine shared with other work: wall time
 * includes waiting for a core. Needs the server on this host (reads /proc of its backend).
 *
 *   npx tsx bench/lib/backend-cpu.ts [reps=5] [schema=mudsync] [workload=adds|mixed]
 *
 * prints, per batch size and method, the median over `reps` repetitions of events/s by wall time
 * and by backend CPU time, and the server CPU per 1000 events. `mixed`: half the events update
 * existing documents (COPY, which cannot update, still writes adds).
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { createTestDatabase } from "../../tests/helpers/pg.ts";
import { migrate } from "../../src/sinks/sink-migrations.ts";
import { seedEvents, sinkEvents, type SinkWorkload } from "./events.ts";
import type { WireEventLike } from "./event-types.ts";
import { copyBatch, createBaselineTables, insertBatch } from "./plain-writes.ts";
import { benchSqlClient, pgDb } from "./sql-adapter.ts";
import { median, now } from "./stats.ts";

const TICK_MS = 10; // USER_HZ is 100 on Linux

/**
 * CPU time the process `pid` has used so far, in ms: from /proc/<pid>/schedstat (nanoseconds)
 * when the kernel provides it, else utime + stime of /proc/<pid>/stat (10 ms resolution).
 */
export function processCpuMs(pid: number): number {
  try {
    const ns = Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]);
    if (Number.isFinite(ns) && ns > 0) return ns / 1e6;
  } catch {
    // no schedstat: fall back to clock ticks
  }
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // the command name is in parentheses and may contain spaces: fields follow the last ')'
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** The backend pid of a connection (the process whose CPU the server spends on it). */
export async function backendPid(client: pg.Client): Promise<number> {
  return (await client.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
}

export interface CpuSample {
  wallMs: number;
  cpuMs: number;
}

/** Runs fn and returns its wall time and the backend CPU it cost. */
export async function measureBackend(pid: number, fn: () => Promise<void>): Promise<CpuSample> {
  const c0 = processCpuMs(pid);
  const t0 = now();
  await fn();
  return { wallMs: now() - t0, cpuMs: processCpuMs(pid) - c0 };
}

type Method = "apply_batch" | "insert" | "copy";

async function main(argv: string[]): Promise<void> {
  const reps = Number(argv[0] ?? 5);
  const schema = argv[1] ?? "mudsync";
  const workload = (argv[2] ?? "adds") as SinkWorkload;
  if (workload !== "adds" && workload !== "mixed") throw new Error(`workload "${workload}": expected adds or mixed`);
  const db = await createTestDatabase("mudsync_cpu");
  const client = new pg.Client({ connectionString: db.url });
  try {
    await client.connect();
    const plain = pgDb(client);
    await migrate(benchSqlClient(plain), { schema });
    await createBaselineTables(plain);
    const pid = await backendPid(client);
    if (workload === "mixed") {
      // the documents `mixed` updates, in the function's tables and in the INSERT baseline's
      const seed = seedEvents("cpu-seed", 999_999);
      for (let i = 0; i < seed.length; i += 1000) {
        await client.query(`select "${schema}".apply_batch($1::jsonb)`, [JSON.stringify(seed.slice(i, i + 1000))]);
        await insertBatch(plain, seed.slice(i, i + 1000));
      }
    }
    const apply = async (b: WireEventLike[]) => {
      const { rows } = await client.query<{ r: { outcome: string }[] }>(`select "${schema}".apply_batch($1::jsonb) as r`, [JSON.stringify(b)]);
      const bad = rows[0]!.r.find((x) => x.outcome !== "applied");
      if (bad) throw new Error(`unexpected outcome ${JSON.stringify(bad)}`);
    };
    const fns: Record<Method, (b: WireEventLike[]) => Promise<void>> = {
      apply_batch: apply,
      insert: (b) => insertBatch(plain, b),
      copy: (b) => copyBatch(plain, b),
    };
    const sizes: [number, number][] = [[1, 400], [10, 2000], [100, 10_000], [1000, 20_000]];
    let run = 0;
    console.log(`workload=${workload} reps=${reps}; medians; events/s by wall time and by backend CPU time; CPU ms per 1000 events`);
    for (const [size, count] of sizes) {
      const samples: Record<Method, CpuSample[]> = { apply_batch: [], insert: [], copy: [] };
      for (let rep = 0; rep < reps; rep++) {
        for (const m of Object.keys(fns) as Method[]) {
          const events = sinkEvents(m === "copy" ? "adds" : workload, count, { runTag: `cpu-${m}-${size}-${(run += 1)}`, seedTag: "cpu-seed", seed: run });
          // JSON and COPY text are built inside fn, as the benchmark harness does; client time is in wall only
          samples[m].push(
            await measureBackend(pid, async () => {
              for (let i = 0; i < events.length; i += size) await fns[m](events.slice(i, i + size));
            }),
          );
        }
      }
      for (const m of Object.keys(fns) as Method[]) {
        const wall = median(samples[m].map((s) => s.wallMs));
        const cpu = median(samples[m].map((s) => s.cpuMs));
        console.log(
          `batch ${String(size).padStart(4)} ${m.padEnd(11)} wall ${fmt((count * 1000) / wall)} ev/s   ` +
            `cpu ${fmt((count * 1000) / cpu)} ev/s   ${((cpu * 1000) / count).toFixed(2)} ms CPU/1000 ev`,
        );
      }
    }
  } finally {
    await client.end().catch(() => {});
    await db.drop();
  }
}

const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toString().padStart(8) : "       -");

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main(process.argv.slice(2));
