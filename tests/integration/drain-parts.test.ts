/**
 * `queue drain --part-size`: the browser export drained in parts (a few rows in memory at a time)
 * ends with the same server rows, the same outcomes and the same store as drained whole; a drain
 * in parts killed midway loses nothing and applies nothing twice.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { BIN, fixture, ROOT, run, tempDirs } from "../cli/queue-run.ts";

interface Drained {
  code: number;
  summary: Record<string, unknown> & { parts?: { count: number; loads: number } };
  progress: { done?: number; total?: number }[];
  byStatus: unknown;
  rows: Record<string, unknown>;
}

describe.runIf(await realPgAvailable())("queue drain in parts", () => {
  const dirs = tempDirs();
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of dbs) await db.drop();
    dirs.cleanup();
  });

  async function drain(partSize: string): Promise<Drained> {
    const db = await createTestDatabase("mudsync_parts");
    dbs.push(db);
    const store = dirs.make();
    const cli = (...args: string[]) => run(["--store", store, "--db", db.url, ...args]);
    expect((await cli("db", "migrate")).code).toBe(0);
    expect((await cli("queue", "import", fixture("browser-export.json"))).code).toBe(0);
    const r = await cli("--json", "queue", "drain", "--part-size", partSize);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const rows: Record<string, unknown> = {};
    try {
      const charts = await client.query<{ id: string; data_source_config: { id: string }[] }>("select id, data_source_config from mudsync.charts order by id");
      rows.charts = charts.rows.map((c) => [c.id, c.data_source_config.map((e) => e.id).sort()]);
      for (const table of ["wells", "polygons", "curves"]) rows[table] = (await client.query(`select id, doc from mudsync.${table} order by id`)).rows;
      rows.applied = (await client.query("select event_id from mudsync.applied_events order by event_id")).rows.map((x) => x.event_id);
    } finally {
      await client.end();
    }
    const stats = JSON.parse((await run(["--store", store, "--json", "queue", "stats"])).stdout) as { byStatus: unknown };
    const progress = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { done?: number; total?: number });
    return { code: r.code ?? -1, summary: JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}"), progress, byStatus: stats.byStatus, rows };
  }

  let whole: Drained;
  let parted: Drained;
  beforeAll(async () => {
    whole = await drain("0");
    parted = await drain("500");
  }, 120_000);

  it("ends with the same rows, outcomes and store as a drain of the whole store", () => {
    expect(whole.summary.parts).toBeUndefined();
    expect(parted.summary.parts!.count).toBeGreaterThan(3);
    expect(parted.summary.parts!.loads).toBeGreaterThanOrEqual(parted.summary.parts!.count);
    expect(parted.code).toBe(whole.code);
    for (const key of ["settled", "rejected", "dead", "duplicates", "left", "drained"]) expect(parted.summary[key], key).toEqual(whole.summary[key]);
    expect(parted.byStatus).toEqual(whole.byStatus);
    expect((parted.rows.applied as string[]).length).toBeGreaterThan(0);
    expect(parted.rows).toEqual(whole.rows);
  });

  it("reports progress while it goes from part to part", () => {
    const last = parted.progress.filter((p) => p.done !== undefined).pop();
    expect(last?.done).toBe(parted.summary.settled);
    expect(last?.total).toBe(parted.summary.settled); // exact once every part was loaded
  });
});

describe.runIf(await realPgAvailable())("queue drain in parts, killed midway", () => {
  const dirs = tempDirs();
  let db: TestDatabase;
  afterAll(async () => {
    await db?.drop();
    dirs.cleanup();
  });

  it("leaves a store that the next drain finishes: every event applied once, the part files gone", async () => {
    db = await createTestDatabase("mudsync_parts_kill");
    const store = path.join(dirs.make(), "store");
    const N = 3000;
    const ndjson = Array.from({ length: N }, (_, i) =>
      JSON.stringify({ id: `k-${i}`, type: "update", entity: "well", entityId: `w${i % 700}`, payload: { n: i }, clientId: "k", seq: i }),
    ).join("\n");
    expect((await run(["--db", db.url, "db", "migrate"])).code).toBe(0);
    expect((await run(["--store", store, "queue", "enqueue", "-"], { input: ndjson })).code).toBe(0);

    // the first drain is killed once it has settled part of the queue, while a part is open
    const child = spawn(process.execPath, [BIN, "--store", store, "--db", db.url, "--json", "queue", "drain", "--part-size", "400", "--batch-size", "20", "--no-coalesce"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    const killed = new Promise<{ done: number; parts: string[] }>((resolve, reject) => {
      child.stderr.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
        const done = Math.max(0, ...[...stderr.matchAll(/"done":(\d+)/g)].map((m) => Number(m[1])));
        if (done >= 900 && child.exitCode === null) {
          const parts = readdirSync(path.join(store, "queue")).filter((f) => f.startsWith("part-"));
          child.kill("SIGKILL");
          resolve({ done, parts });
        }
      });
      child.on("exit", (code) => reject(new Error(`drain ended (exit ${code}) before it was killed: ${stderr.slice(-300)}`)));
    });
    const first = await killed;
    expect(first.parts.length).toBeGreaterThan(1);

    const again = await run(["--store", store, "--db", db.url, "--json", "queue", "drain", "--part-size", "400"]);
    expect(again.code, again.stderr).toBe(0);
    const summary = JSON.parse(again.stdout.trim().split("\n").pop() ?? "{}") as { left: Record<string, number>; duplicates: number; settled: number };
    expect(summary.left).toMatchObject({ pending: 0, processing: 0, failed: 0, dead: 0, completed: N });
    // what the killed drain had applied but not yet recorded comes back as duplicates: at most a few batches
    expect(summary.duplicates).toBeLessThanOrEqual(3 * 20);
    expect(readdirSync(path.join(store, "queue")).filter((f) => f.startsWith("part-"))).toEqual([]);

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const applied = await client.query<{ n: string; distinct_n: string }>("select count(*) as n, count(distinct event_id) as distinct_n from mudsync.applied_events");
      expect(Number(applied.rows[0]!.n)).toBe(N);
      expect(Number(applied.rows[0]!.distinct_n)).toBe(N);
      const row = await client.query<{ doc: { n: number } }>("select doc from mudsync.wells where id = 'w5'");
      expect(row.rows[0]!.doc.n).toBe(2805); // the row's last edit: i = 5 + 700 * 4
    } finally {
      await client.end();
    }
  }, 120_000);
});
