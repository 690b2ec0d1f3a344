/**
 * `npx tsx bench/lib/one-statement-loops.ts [events] [loops] [listen] [checkpoint] [keep]`: the
 * one-statement drain without daemons.
 * A fresh database is migrated (sink and queue), filled with `events` pending events, vacuumed and
 * analyzed; then `loops` concurrent loops run the queue store's one-statement claim-apply-settle
 * until nothing is left, and the wall time, events/s and the backends' CPU per 1000 events are printed
 * as JSON. Isolates the server's cost per event from the daemons' (HTTP, logging, engine).
 * With `listen`, each loop also has a connection LISTENing to the change feed, as each daemon has;
 * with `checkpoint`, the timed part starts right after a CHECKPOINT, as in the daemons' bench task
 * (every page's first change after it writes the whole page to the WAL); with `keep`, the
 * database is left for inspection and its URL printed.
 */
import { createTestDatabase } from "../../tests/helpers/pg.ts";
import { openPostgresQueueStore } from "../../src/stores/postgres/index.ts";
import { PgClient } from "../../src/postgres/pg-client.ts";
import { MIGRATIONS_DIR, migrate } from "../../src/sinks/sink-migrations.ts";
import { pendingEvents } from "./events.ts";
import { fillQueue } from "./fill-queue.ts";
import { cpuSpentMs, databaseCpu } from "./database-cpu.ts";
import { now, perSecond } from "./stats.ts";
import pg from "pg";

const n = Number(process.argv[2] ?? 100_000);
const loops = Number(process.argv[3] ?? 2);
const keep = process.argv.includes("keep");
const listen = process.argv.includes("listen");
const checkpoint = process.argv.includes("checkpoint");
const db = await createTestDatabase("mudsync_one_statement_loops");
try {
  const sink = new PgClient({ url: db.url, max: 1 });
  await migrate(sink, { schema: "mudsync", dir: MIGRATIONS_DIR });
  await sink.close();
  const stores = [];
  for (let i = 0; i < loops; i++) stores.push(await openPostgresQueueStore({ url: db.url, owner: `loop-${i}` }));
  await fillQueue(stores[0]!, pendingEvents(n, 7));
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query("vacuum analyze mudsync_queue.events");
  const listeners: pg.Client[] = [];
  let notified = 0;
  if (listen) {
    for (let i = 0; i < loops; i++) {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      c.on("notification", (m) => {
        JSON.parse(m.payload ?? "null");
        notified++;
      });
      await c.query("LISTEN mudsync_changes");
      listeners.push(c);
    }
  }
  const batches = await Promise.all(stores.map((s) => s.oneStatementWith("mudsync")));
  // as the daemons' and pg-boss's bench tasks: the timed part starts right after a checkpoint
  if (checkpoint) await admin.query("checkpoint");
  const cpu0 = await databaseCpu(admin);
  const t0 = now();
  let statements = 0;
  await Promise.all(
    batches.map(async (b, i) => {
      for (;;) {
        const r = await b!.claimApplySettle({ limit: 1000, leaseMs: 30_000, now: Date.now(), owner: `loop-${i}` });
        statements++;
        if (r.settled.length + r.handed.length === 0) return;
      }
    }),
  );
  const wallMs = now() - t0;
  const cpuMs = cpuSpentMs(cpu0, await databaseCpu(admin));
  const { rows } = await admin.query("select status, count(*)::int as n from mudsync_queue.events group by 1");
  console.log(JSON.stringify({ events: n, loops, statements, wallMs: Math.round(wallMs), eventsPerSec: perSecond(n, wallMs), serverCpuPer1000: cpuMs === null ? null : Math.round((cpuMs * 1000) / n), counts: rows, notified }));
  await Promise.all(listeners.map((c) => c.end()));
  await admin.end();
  await Promise.all(stores.map((s) => s.close()));
  if (keep) console.log(db.url);
} finally {
  if (!keep) await db.drop();
}
