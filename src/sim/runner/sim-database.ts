/**
 * The run's server: the embedded PGlite in the run directory, or a schema of its own on a real
 * server (`mudsync_sim` unless told otherwise), created fresh and dropped at the end unless kept.
 * The sink is mudsync's own, migrated by the same migrations `db migrate` runs. On a real server
 * the clients' connections can go through the runner's TCP proxy (network faults), while the
 * change feed and the runner's own session connect directly.
 */
import path from "node:path";
import type { ChangeFeed, QueueStore } from "../../core/ports.ts";
import type { SqlQueryable } from "../../postgres/sql-client.ts";
import { openPostgresQueueStore } from "../../stores/postgres/index.ts";
import { PgClient } from "../../postgres/pg-client.ts";
import { PgSink } from "../../sinks/pg/pg-sink.ts";
import { PgliteSink } from "../../sinks/pglite/pglite-sink.ts";
import { SimSchemaBusyError, UsageError } from "../../errors.ts";
import { classifySinkError } from "../../postgres/classify-error.ts";
import { TcpProxy } from "./tcp-proxy.ts";

export const SIM_SCHEMA = "mudsync_sim";
/** application_name of the clients' sessions: what a terminate-backends fault ends */
export const SIM_APPLICATION = "mudsync-sim";

/** What server faults act through (a real server only). */
export interface ServerControl {
  proxy?: TcpProxy;
  /** ends every session of the run's clients (not the feed's, not the runner's); returns how many */
  terminateBackends(): Promise<number>;
  /** a sink whose sessions have this statement_timeout */
  sinkWithTimeout(timeoutMs: number): PgSink;
}

export interface SimDatabase {
  /** the current sink (a restart replaces it) */
  sink: PgSink;
  /** the runner's own session for reading the final state: not behind the proxy, never terminated by a fault */
  admin(): SqlQueryable;
  /** the shared queue daemons drain (`<schema>_queue`), when the scenario has daemons */
  queue?: { store: QueueStore; schema: string; url: string };
  feed: ChangeFeed;
  schema: string;
  /** for people: where the rows are */
  where: string;
  server?: ServerControl;
  /** the embedded PGlite only: closes it and opens it again from its data directory; updates sink and feed */
  restart?(): Promise<void>;
  close(keep: boolean): Promise<void>;
}

export type SimSink = { kind: "pglite" } | { kind: "postgres"; url: string };

export async function openSimDatabase(sink: SimSink, runDir: string, options: { schema?: string; proxy?: boolean; sharedQueue?: boolean } = {}): Promise<SimDatabase> {
  const { schema } = options;
  if (sink.kind === "pglite") {
    const dataDir = path.join(runDir, "pglite");
    const name = schema ?? "mudsync";
    const db: SimDatabase = {
      sink: await PgliteSink.open({ schema: name, dataDir, migrate: true }),
      feed: undefined as unknown as ChangeFeed,
      schema: name,
      where: `PGlite in ${dataDir}`,
      admin: () => db.sink.client,
      async restart() {
        await db.sink.close();
        db.sink = await PgliteSink.open({ schema: name, dataDir, migrate: false });
        db.feed = db.sink;
      },
      close: () => db.sink.close(),
    };
    db.feed = db.sink;
    return db;
  }
  if (!/^postgres(ql)?:\/\//.test(sink.url)) throw new UsageError(`--sink ${sink.url.split("@").pop()}: expected pglite or a postgres:// URL`);
  const name = schema ?? SIM_SCHEMA;
  const url = new URL(sink.url);
  const where = `${url.host}${url.pathname}`;
  // one run per schema and server at a time: a session lock, held on a connection of its own
  // (never closed while idle) for the whole run, released when it ends or the process dies
  const own = new PgClient({ url: sink.url, max: 1, idleTimeoutMs: 0, applicationName: "mudsync-sim-runner" });
  const opened: { close(): Promise<void> }[] = [own];
  const closeAll = async () => {
    for (const c of opened.reverse()) await c.close().catch(() => undefined);
  };
  try {
    const { rows } = await own
      .query<{ ok: boolean }>("select pg_try_advisory_lock(hashtext('mudsync.sim'), hashtext($1)) as ok", [name])
      .catch((err: unknown) => {
        throw classifySinkError(err, `sim: opening ${where}`);
      });
    if (!rows[0]?.ok) throw new SimSchemaBusyError(`schema ${name} on ${where} is in use by another sim run; wait for it, or run on another database`);
    let clientUrl = sink.url;
    let proxy: TcpProxy | undefined;
    if (options.proxy) {
      proxy = new TcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
      const port = await proxy.start();
      opened.push({ close: () => proxy!.stop() });
      const via = new URL(sink.url);
      via.hostname = "127.0.0.1";
      via.port = String(port);
      clientUrl = via.toString();
    }
    const s = new PgSink(new PgClient({ url: clientUrl, applicationName: SIM_APPLICATION }), { schema: name });
    opened.push(s);
    const feed = new PgSink(new PgClient({ url: sink.url, max: 1 }), { schema: name });
    opened.push(feed);
    const quoted = `"${name}"`;
    const queueSchema = `${name}_queue`;
    // the schemas belong to the simulation: a previous kept run's rows go
    await own.exec(`drop schema if exists ${quoted} cascade; drop schema if exists "${queueSchema}" cascade`);
    await s.migrate();
    let queue: SimDatabase["queue"];
    if (options.sharedQueue) {
      const store = await openPostgresQueueStore({ url: sink.url, schema: queueSchema, owner: "mudsync-sim-clients" });
      opened.push(store);
      queue = { store, schema: queueSchema, url: sink.url };
    }
    return {
      sink: s,
      admin: () => own,
      ...(queue ? { queue } : {}),
      feed,
      schema: name,
      where: `schema ${name} on ${where}`,
      server: {
        ...(proxy ? { proxy } : {}),
        async terminateBackends() {
          const r = await own.query<{ n: number }>(
            "select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = current_database() and application_name = $1",
            [SIM_APPLICATION],
          );
          return r.rows[0]?.n ?? 0;
        },
        sinkWithTimeout(timeoutMs: number) {
          const t = new PgSink(new PgClient({ url: clientUrl, applicationName: SIM_APPLICATION, statementTimeoutMs: timeoutMs }), { schema: name });
          opened.push(t);
          return t;
        },
      },
      close: async (keep) => {
        try {
          if (!keep) await own.exec(`drop schema if exists ${quoted} cascade; drop schema if exists "${queueSchema}" cascade`);
          // released here, not by the session's end, which the server notices a moment later
          await own.query("select pg_advisory_unlock(hashtext('mudsync.sim'), hashtext($1))", [name]);
        } finally {
          await closeAll();
        }
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
