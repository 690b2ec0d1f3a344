/**
 * The run's server: the embedded PGlite in the run directory, or a schema of its own on a real
 * server (`mudsync_sim` unless told otherwise), created fresh and dropped at the end unless kept.
 * The sink is mudsync's own, migrated by the same migrations `db migrate` runs.
 */
import path from "node:path";
import { PgClient } from "../../postgres/pg-client.ts";
import { PgSink } from "../../sinks/pg/pg-sink.ts";
import { PgliteSink } from "../../sinks/pglite/pglite-sink.ts";
import { SimSchemaBusyError, UsageError } from "../../errors.ts";
import { classifySinkError } from "../../postgres/classify-error.ts";

export const SIM_SCHEMA = "mudsync_sim";

export interface SimDatabase {
  sink: PgSink;
  schema: string;
  /** for people: where the rows are */
  where: string;
  close(keep: boolean): Promise<void>;
}

export async function openSimDatabase(sink: { kind: "pglite" } | { kind: "postgres"; url: string }, runDir: string, schema?: string): Promise<SimDatabase> {
  if (sink.kind === "pglite") {
    const dataDir = path.join(runDir, "pglite");
    const s = await PgliteSink.open({ schema: schema ?? "mudsync", dataDir, migrate: true });
    return { sink: s, schema: schema ?? "mudsync", where: `PGlite in ${dataDir}`, close: () => s.close() };
  }
  if (!/^postgres(ql)?:\/\//.test(sink.url)) throw new UsageError(`--sink ${sink.url.split("@").pop()}: expected pglite or a postgres:// URL`);
  const name = schema ?? SIM_SCHEMA;
  const url = new URL(sink.url);
  // one run per schema and server at a time: a session lock, held on a connection of its own
  // (never closed while idle) for the whole run, released when it ends or the process dies
  const lock = new PgClient({ url: sink.url, max: 1, idleTimeoutMs: 0 });
  const { rows } = await lock
    .query<{ ok: boolean }>("select pg_try_advisory_lock(hashtext('mudsync.sim'), hashtext($1)) as ok", [name])
    .catch(async (err: unknown) => {
      await lock.close();
      throw classifySinkError(err, `sim: opening ${url.host}${url.pathname}`);
    });
  if (!rows[0]?.ok) {
    await lock.close();
    throw new SimSchemaBusyError(`schema ${name} on ${url.host}${url.pathname} is in use by another sim run; wait for it, or run on another database`);
  }
  const s = new PgSink(new PgClient({ url: sink.url }), { schema: name });
  const quoted = `"${name}"`;
  try {
    // the schema belongs to the simulation: a previous kept run's rows go
    await s.client.exec(`drop schema if exists ${quoted} cascade`);
    await s.migrate();
  } catch (err) {
    await s.close();
    await lock.close();
    throw err;
  }
  return {
    sink: s,
    schema: name,
    where: `schema ${name} on ${url.host}${url.pathname}`,
    close: async (keep) => {
      try {
        if (!keep) await s.client.exec(`drop schema if exists ${quoted} cascade`);
      } finally {
        await s.close();
        await lock.close();
      }
    },
  };
}
