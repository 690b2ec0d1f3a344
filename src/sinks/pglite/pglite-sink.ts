/**
 * The embedded sink: the pg sink over PGlite. Same SQL, same functions; PGlite runs one session,
 * so it has no cross-connection concurrency (tested on the real server instead).
 */
import path from "node:path";
import type { SinkCapabilities } from "../../core/ports.ts";
import { PgSink, type PgSinkOptions } from "../pg/pg-sink.ts";
import { PgliteClient } from "./pglite-client.ts";

export class PgliteSink extends PgSink {
  override readonly name = "pglite";
  override readonly capabilities: SinkCapabilities = { supportsTransactions: true, supportsListen: true, supportsDryRun: true };

  constructor(client: PgliteClient, options: PgSinkOptions) {
    super(client, options);
  }

  /** The data directory of a store: `<store>/pglite`. */
  static dataDirOf(store: string): string {
    return path.join(store, "pglite");
  }

  /** Opens `dataDir` (in memory when absent); `migrate` (default true) installs or upgrades the schema. */
  static async open(options: PgSinkOptions & { dataDir?: string; migrate?: boolean }): Promise<PgliteSink> {
    const client = await PgliteClient.open(options.dataDir);
    const sink = new PgliteSink(client, { schema: options.schema });
    try {
      if (options.migrate ?? true) await sink.migrate();
    } catch (err) {
      await sink.close();
      throw err;
    }
    return sink;
  }
}
