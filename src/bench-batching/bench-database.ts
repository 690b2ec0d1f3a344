/**
 * The database `bench batching` measures on: the user's server (`--db`) or an embedded PGlite in
 * memory. Every measurement gets a fresh schema, migrated with the project's migrations and dropped
 * after; its sink talks through a counted client (counted-client.ts). This module also holds the
 * bench's own SQL: reading the final rows and writing them by COPY (the physical reference).
 */
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { PgClient, redactUrl } from "../postgres/pg-client.ts";
import type { SqlClient } from "../postgres/sql-client.ts";
import { PgSink } from "../sinks/pg/pg-sink.ts";
import { PgliteClient } from "../sinks/pglite/pglite-client.ts";
import { UsageError } from "../errors.ts";
import { classifySinkError } from "../postgres/classify-error.ts";
import { countedClient, type RoundTripCounter } from "./counted-client.ts";

/** A row as the comparison sees it: data only (versions and timestamps differ by design). */
export interface FinalRow {
  entity: string;
  id: string;
  data: unknown;
}

export interface DatabaseInfo {
  kind: "pglite" | "postgres";
  /** the server URL without its password, or "embedded PGlite (in memory)" */
  label: string;
  serverVersion: string;
}

/** The built-in entity tables: where the final rows are read from and COPY writes to. */
const TABLES = [
  { entity: "chart_data_source", table: "charts", column: "data_source_config" },
  { entity: "curve", table: "curves", column: "doc" },
  { entity: "polygon", table: "polygons", column: "doc" },
  { entity: "well", table: "wells", column: "doc" },
] as const;

export class BenchDatabase {
  private schemas = 0;
  private copyConnection: pg.Client | undefined;

  private constructor(
    readonly client: SqlClient,
    readonly info: DatabaseInfo,
  ) {}

  /** Opens `url` (postgres://…), or an embedded in-memory PGlite when it is absent. */
  static async open(url: string | undefined, connections: number): Promise<BenchDatabase> {
    if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) {
      throw new UsageError(`--db ${url.split("@").pop()}: expected a postgres:// or postgresql:// URL`);
    }
    const client: SqlClient = url ? new PgClient({ url, max: Math.max(2, connections), applicationName: "mudsync-bench" }) : await PgliteClient.open();
    try {
      const { rows } = await client.query<{ v: string }>("select current_setting('server_version') as v");
      const label = url ? redactUrl(url) : "embedded PGlite (in memory)";
      const db = new BenchDatabase(client, { kind: url ? "postgres" : "pglite", label, serverVersion: rows[0]?.v ?? "unknown" });
      // COPY streams on a connection of its own, opened now so that no measurement pays for it
      if (url) db.copyConnection = await connect(url);
      return db;
    } catch (err) {
      await client.close().catch(() => undefined);
      throw classifySinkError(err, `bench batching: opening ${url ? redactUrl(url) : "the embedded PGlite"}`);
    }
  }

  /** A fresh migrated schema whose sink counts round trips into `counter`; `drop` removes it. */
  async freshSchema(counter: RoundTripCounter): Promise<{ schema: string; sink: PgSink; drop(): Promise<void> }> {
    const schema = `mudsync_bench_${process.pid}_${++this.schemas}`;
    const sink = new PgSink(countedClient(this.client, counter, this.info.kind === "pglite" ? { yieldEveryMs: 50 } : {}), { schema });
    const drop = () => this.client.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    try {
      await sink.migrate();
    } catch (err) {
      await drop().catch(() => undefined);
      throw err;
    }
    return { schema, sink, drop };
  }

  /** Every row of the built-in entity tables, ordered by entity and id. */
  async finalRows(schema: string): Promise<FinalRow[]> {
    const parts = TABLES.map((t) => `select '${t.entity}' as entity, id, ${t.column} as data from "${schema}".${t.table}`);
    const { rows } = await this.client.query<FinalRow>(`${parts.join(" union all ")} order by entity, id`);
    return rows;
  }

  /** Writes `rows` into the schema's entity tables with COPY, `chunk` rows per COPY statement. */
  async copyRows(schema: string, rows: FinalRow[], chunk: number, counter: RoundTripCounter): Promise<void> {
    for (const t of TABLES) {
      const mine = rows.filter((r) => r.entity === t.entity);
      for (let i = 0; i < mine.length; i += chunk) {
        counter.statement();
        await this.copy(`"${schema}".${t.table} (id, ${t.column}, version)`, copyText(mine.slice(i, i + chunk)));
      }
    }
  }

  private async copy(target: string, body: string): Promise<void> {
    if (this.client instanceof PgliteClient) {
      await this.client.db.query(`COPY ${target} FROM '/dev/blob'`, [], { blob: new Blob([body]) });
      return;
    }
    if (!this.copyConnection) throw new Error("copy: no connection for COPY");
    await pipeline(Readable.from([body]), this.copyConnection.query(copyFrom(`COPY ${target} FROM STDIN`)));
  }

  async close(): Promise<void> {
    await this.copyConnection?.end().catch(() => undefined);
    await this.client.close();
  }
}

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: "mudsync-bench-copy" });
  c.on("error", () => undefined);
  try {
    await c.connect();
  } catch (err) {
    await c.end().catch(() => undefined);
    throw err;
  }
  return c;
}

/** COPY text format: backslashes doubled; JSON.stringify already escapes tabs and newlines. */
function copyText(rows: FinalRow[]): string {
  const esc = (s: string) => s.replace(/\\/g, "\\\\");
  let out = "";
  for (const r of rows) out += `${esc(r.id)}\t${esc(JSON.stringify(r.data))}\t1\n`;
  return out;
}
