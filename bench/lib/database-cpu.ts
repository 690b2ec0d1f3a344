/**
 * Server CPU time spent on one database: the sum over its backends (every session of
 * pg_stat_activity for that database except the asking one) of their CPU time from /proc. On a
 * machine shared with other work this is the fair comparison: wall time includes waiting for a
 * core. Needs the server on this host; where no backend's /proc can be read the result is null.
 */
import type pg from "pg";
import { processCpuMs } from "./backend-cpu.ts";

/** CPU ms used so far by each backend of the database `client` is connected to, by pid. */
export async function databaseCpu(client: pg.Client): Promise<Map<number, number>> {
  const { rows } = await client.query<{ pid: number }>(
    "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
  );
  const byPid = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      byPid.set(pid, processCpuMs(pid));
    } catch {
      // the backend has exited, or its /proc entry is not readable from here
    }
  }
  return byPid;
}

/**
 * CPU ms spent between two readings (a backend that appeared in between counts from zero, one
 * that exited in between is lost); null when no backend could be read at the end.
 */
export function cpuSpentMs(before: Map<number, number>, after: Map<number, number>): number | null {
  if (after.size === 0) return null;
  let ms = 0;
  for (const [pid, cpu] of after) ms += cpu - (before.get(pid) ?? 0);
  return ms;
}
