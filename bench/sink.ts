/**
 * `npm run bench -- sink`: events/s through `<schema>.apply_batch` at batch sizes
 * 1/10/100/1000 on the real server (a fresh database, dropped after) and on PGlite, next to the
 * same document rows written by one multi-row INSERT and by one COPY per batch, in the same run.
 */
import pg from "pg";
import { createTestDatabase, realPgAvailable } from "../tests/helpers/pg.ts";
import type { MigrateResult } from "../src/sinks/sink-migrations.ts";
import type { SqlClient } from "../src/postgres/sql-client.ts";
import type { Sink } from "../src/core/ports.ts";
import { seedEvents, sinkEvents, type SinkWorkload } from "./lib/events.ts";
import type { WireEventLike } from "./lib/event-types.ts";
import { importExport, locateExport } from "./lib/find-export.ts";
import { copyBatch, createBaselineTables, insertBatch, type PlainDb } from "./lib/plain-writes.ts";
import type { BenchReport } from "./lib/report.ts";
import { benchSqlClient, pgDb, pgliteDb } from "./lib/sql-adapter.ts";
import { now, perSecond } from "./lib/stats.ts";

type Migrate = (client: SqlClient, o: { schema: string }) => Promise<MigrateResult>;

export interface SinkBenchParams {
  schema: string;
  batchSizes: number[];
  /** events measured per batch size */
  events: Record<number, number>;
  pgliteEvents: Record<number, number>;
}

export function sinkParams(quick: boolean): SinkBenchParams {
  return quick
    ? { schema: "mudsync", batchSizes: [1, 10, 100, 1000], events: { 1: 200, 10: 1000, 100: 3000, 1000: 5000 }, pgliteEvents: { 1: 100, 10: 500, 100: 2000, 1000: 3000 } }
    : { schema: "mudsync", batchSizes: [1, 10, 100, 1000], events: { 1: 3000, 10: 10_000, 100: 30_000, 1000: 60_000 }, pgliteEvents: { 1: 1000, 10: 5000, 100: 20_000, 1000: 30_000 } };
}

async function timedBatches(events: WireEventLike[], size: number, fn: (batch: WireEventLike[]) => Promise<void>): Promise<number> {
  const t0 = now();
  for (let i = 0; i < events.length; i += size) await fn(events.slice(i, i + size));
  return perSecond(events.length, now() - t0);
}

/**
 * Times several methods on the same batches, interleaved batch by batch (in rotating order), so
 * that a busy neighbour on a shared machine slows every method alike instead of whichever ran then.
 */
async function interleavedRates(
  events: WireEventLike[],
  size: number,
  methods: Record<string, (batch: WireEventLike[]) => Promise<void>>,
): Promise<Record<string, number>> {
  const names = Object.keys(methods);
  const spent = Object.fromEntries(names.map((n) => [n, 0])) as Record<string, number>;
  for (let i = 0, round = 0; i < events.length; i += size, round++) {
    const batch = events.slice(i, i + size);
    for (let j = 0; j < names.length; j++) {
      const name = names[(j + round) % names.length]!;
      const t0 = now();
      await methods[name]!(batch);
      spent[name]! += now() - t0;
    }
  }
  return Object.fromEntries(names.map((n) => [n, perSecond(events.length, spent[n]!)]));
}

function applyBatchFn(db: PlainDb, schema: string, outcomes: Map<string, number>) {
  const sql = `SELECT "${schema}".apply_batch($1::jsonb) AS r`;
  const run = async (batch: WireEventLike[]) =>
    db.kind === "pg"
      ? (await db.client.query<{ r: { outcome: string }[] }>(sql, [JSON.stringify(batch)])).rows
      : (await db.db.query<{ r: { outcome: string }[] }>(sql, [JSON.stringify(batch)])).rows;
  return async (batch: WireEventLike[]) => {
    const rows = await run(batch).catch((err: Error) => {
      throw new Error(`${schema}.apply_batch failed on a batch of ${batch.length}: ${err.message}`);
    });
    for (const res of rows[0]?.r ?? []) outcomes.set(res.outcome, (outcomes.get(res.outcome) ?? 0) + 1);
  };
}

function outcomeNote(outcomes: Map<string, number>, expected: number): string {
  const applied = outcomes.get("applied") ?? 0;
  if (applied === expected && outcomes.size === 1) return `all ${expected} applied`;
  return `outcomes: ${[...outcomes].map(([o, n]) => `${o} ${n}`).join(", ")} (expected ${expected} applied)`;
}

/** Runs every workload × batch size × method on one database. */
async function benchTarget(report: BenchReport, target: "server" | "pglite", db: PlainDb, migrate: Migrate | undefined, p: SinkBenchParams): Promise<void> {
  const counts = target === "server" ? p.events : p.pgliteEvents;
  await createBaselineTables(db);
  let fnReady = false;
  if (migrate) {
    const t0 = now();
    await migrate(benchSqlClient(db), { schema: p.schema });
    fnReady = true;
    report.add({ id: `sink.${target}.migrateMs`, label: `${target}: migrate a fresh database`, value: now() - t0, unit: "ms" });
  }
  const copyRate = new Map<number, number>();
  for (const workload of ["adds", "mixed"] as SinkWorkload[]) {
    const seedTag = `${target}-seed`;
    if (workload === "mixed") {
      const seeds = seedEvents(seedTag, 7);
      if (fnReady) await timedBatches(seeds, 1000, applyBatchFn(db, p.schema, new Map()));
      await timedBatches(seeds, 1000, (b) => insertBatch(db, b));
    }
    for (const size of p.batchSizes) {
      const n = counts[size] ?? 1000;
      const events = sinkEvents(workload, n, { runTag: `${target}-${workload}-b${size}`, seedTag, seed: size + (workload === "mixed" ? 100_000 : 0) });
      // one untimed batch of each method first, so no method pays for a cold plan or cache
      const warm = sinkEvents(workload, size, { runTag: `${target}-${workload}-warm${size}`, seedTag, seed: size + 200_000 });
      await insertBatch(db, warm);
      if (workload === "adds") await copyBatch(db, warm);
      if (fnReady) await applyBatchFn(db, p.schema, new Map())(warm);
      const outcomes = new Map<string, number>();
      const rates = await interleavedRates(events, size, {
        insert: (b) => insertBatch(db, b),
        ...(workload === "adds" ? { copy: (b: WireEventLike[]) => copyBatch(db, b) } : {}),
        ...(fnReady ? { fn: applyBatchFn(db, p.schema, outcomes) } : {}),
      });
      const insert = rates.insert ?? null;
      const copy = rates.copy ?? null;
      if (copy !== null) copyRate.set(size, copy);
      const fn = rates.fn ?? null;
      report.add({
        id: `sink.${target}.${workload}.b${size}.eventsPerSec`,
        label: `${target}: apply_batch, ${workload === "adds" ? "distinct adds" : "50% adds / 50% updates"}, batch ${size} (${n} events)`,
        value: fn,
        unit: "events/s",
        baselines: [
          { label: "multi-row INSERT", value: insert, unit: "rows/s" },
          ...(copy !== null ? [{ label: "COPY", value: copy, unit: "rows/s" }] : [{ label: `COPY (adds, batch ${size})`, value: copyRate.get(size) ?? null, unit: "rows/s" }]),
        ],
        note: fnReady ? outcomeNote(outcomes, n) : "apply_batch not installed (migrations not available)",
      });
      if (size === 1000) {
        const c = copyRate.get(1000);
        report.add({
          id: `sink.${target}.${workload}.b1000.ofCopy`,
          label: `${target}: apply_batch ÷ COPY at batch 1000 (${workload})`,
          value: fn !== null && c ? fn / c : null,
          unit: "× COPY",
          ...(target === "server" ? { target: { op: ">=" as const, value: 0.25 } } : {}),
          ...(workload === "mixed" ? { note: "COPY cannot update: compared with COPY of distinct adds" } : {}),
        });
      }
    }
  }
}

type OpenSink = (config: { db: string; schema: string; store: string }) => Promise<Sink>;

/**
 * Batch-1000 adds through the project's own pg Sink (serialisation and result parsing included),
 * interleaved with the direct SQL call on the same kind of events for comparison.
 */
async function throughSink(report: BenchReport, db: PlainDb, url: string, p: SinkBenchParams): Promise<void> {
  const located = locateExport("src/sinks", "openSink");
  if (!located.ok) return report.unavailable("server: through the pg Sink", located.reason);
  const openSink = await importExport<OpenSink>(located.file, "openSink");
  const sink = await openSink({ db: url, schema: p.schema, store: ".mudsync-unused" });
  try {
    const n = p.events[1000] ?? 1000;
    const viaSink = sinkEvents("adds", n, { runTag: "server-sink-b1000", seedTag: "server-seed", seed: 5000 });
    const direct = sinkEvents("adds", n, { runTag: "server-direct-b1000", seedTag: "server-seed", seed: 6000 });
    const outcomes = new Map<string, number>();
    let k = 0;
    const rates = await interleavedRates(viaSink, 1000, {
      sink: async (b) => {
        for (const r of await sink.applyBatch(b)) outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1);
      },
      direct: async () => {
        await applyBatchFn(db, p.schema, new Map())(direct.slice(k, k + 1000));
        k += 1000;
      },
    });
    report.add({
      id: "sink.server.adds.b1000.viaSink.eventsPerSec",
      label: `server: PgSink.applyBatch, distinct adds, batch 1000 (${n} events)`,
      value: rates.sink ?? null,
      unit: "events/s",
      baselines: [{ label: "SELECT apply_batch directly, interleaved", value: rates.direct ?? null, unit: "events/s" }],
      note: outcomeNote(outcomes, n),
    });
  } finally {
    await sink.close();
  }
}

export async function runSinkBench(report: BenchReport, quick: boolean): Promise<void> {
  const p = sinkParams(quick);
  Object.assign(report.params, p, { method: "one `SELECT <schema>.apply_batch($1::jsonb)` per batch, autocommit; INSERT and COPY: one statement per batch into a table shaped like the entity tables" });
  const located = locateExport("src/sinks", "migrate");
  let migrate: Migrate | undefined;
  if (located.ok) migrate = await importExport<Migrate>(located.file, "migrate");
  else report.unavailable("apply_batch (all targets)", located.reason);

  if (await realPgAvailable()) {
    const database = await createTestDatabase("mudsync_bench");
    const client = new pg.Client({ connectionString: database.url });
    try {
      await client.connect();
      report.machine.pgServer = (await client.query<{ v: string }>("select version() as v")).rows[0]?.v.split(" on ")[0];
      await benchTarget(report, "server", pgDb(client), migrate, p);
      if (migrate) await throughSink(report, pgDb(client), database.url, p);
    } catch (err) {
      report.unavailable("server", (err as Error).message);
    } finally {
      await client.end().catch(() => {});
      await database.drop();
    }
  } else {
    report.unavailable("server", "PostgreSQL at 127.0.0.1:5432 does not answer");
  }

  const { PGlite } = await import("@electric-sql/pglite");
  const t0 = now();
  const lite = await PGlite.create();
  try {
    report.add({ id: "sink.pglite.startMs", label: "pglite: start a fresh in-memory instance", value: now() - t0, unit: "ms" });
    report.params.pgliteServer = (await lite.query<{ v: string }>("select version() as v")).rows[0]?.v.split(" on ")[0];
    await benchTarget(report, "pglite", pgliteDb(lite), migrate, p);
  } catch (err) {
    report.unavailable("pglite", (err as Error).message);
  } finally {
    await lite.close();
  }
}
