/**
 * `npx tsx bench/lib/fold-ab.ts [reps] [batches]`: apply_batch before and after a sink migration,
 * on the same batches. Two schemas of one fresh database are migrated, `before` up to the
 * migration before the newest and `after` to the newest; then each of `batches` batches of 1000
 * queue events (the drain benchmark's mix: about a third of a batch's events share their row with
 * another event of the batch, so apply_batch folds them in order) is applied `reps` times in each
 * schema, alternating, every call in a transaction that is rolled back, so every call sees the same
 * tables. Prints the median wall time per call of each schema as JSON.
 * Measures what one migration of apply_batch changed, e.g. 008 (the fold's event filter).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { createTestDatabase } from "../../tests/helpers/pg.ts";
import { PgClient } from "../../src/postgres/pg-client.ts";
import { loadMigrations, migrate } from "../../src/sinks/sink-migrations.ts";
import { pendingEvents } from "./events.ts";
import { median, now } from "./stats.ts";

const reps = Number(process.argv[2] ?? 7);
const batches = Number(process.argv[3] ?? 5);
const db = await createTestDatabase("mudsync_fold_ab");
const dir = mkdtempSync(path.join(tmpdir(), "mudsync-fold-ab-"));
try {
  const all = loadMigrations();
  const last = all[all.length - 1]!;
  for (const m of all.filter((x) => x.id < last.id)) writeFileSync(path.join(dir, m.name), m.sql);
  const sink = new PgClient({ url: db.url, max: 1 });
  await migrate(sink, { schema: "before", dir });
  await migrate(sink, { schema: "after" });
  await sink.close();

  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  const events = pendingEvents(batches * 1000, 7, 1_700_000_000_000);
  const bodies: string[] = [];
  let sharing = 0;
  for (let b = 0; b < batches; b++) {
    const batch = events.slice(b * 1000, (b + 1) * 1000).map(({ status: _s, retryCount: _r, ...wire }) => wire);
    const perRow = new Map<string, number>();
    for (const e of batch) perRow.set(`${e.entity}:${e.entityId}`, (perRow.get(`${e.entity}:${e.entityId}`) ?? 0) + 1);
    sharing += batch.filter((e) => perRow.get(`${e.entity}:${e.entityId}`)! > 1).length;
    bodies.push(JSON.stringify(batch));
  }
  const times: Record<"before" | "after", number[]> = { before: [], after: [] };
  const call = async (schema: "before" | "after", body: string) => {
    await c.query("begin");
    const t0 = now();
    await c.query(`select length(${schema}.apply_batch($1::jsonb)::text)`, [body]);
    times[schema].push(now() - t0);
    await c.query("rollback");
  };
  for (const body of bodies) for (const schema of ["before", "after"] as const) await call(schema, body); // warm-up
  times.before.length = 0;
  times.after.length = 0;
  for (let r = 0; r < reps; r++) {
    for (const body of bodies) {
      const order = r % 2 === 0 ? (["before", "after"] as const) : (["after", "before"] as const);
      for (const schema of order) await call(schema, body);
    }
  }
  await c.end();
  const ms = (xs: number[]) => Math.round(median(xs) * 10) / 10;
  console.log(
    JSON.stringify({
      newest: last.name,
      batches,
      reps,
      eventsSharingARow: Math.round((sharing / (batches * 1000)) * 100) / 100,
      msPerBatch: { before: ms(times.before), after: ms(times.after) },
      ratio: Math.round((median(times.before) / median(times.after)) * 100) / 100,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
  await db.drop();
}
