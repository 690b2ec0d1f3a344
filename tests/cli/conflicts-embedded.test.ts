/** `conflicts ls|show|resolve` on the embedded database (PGlite in the store): see conflicts-scenario.ts. */
import path from "node:path";
import { PgliteSink } from "../../src/sinks/pglite/pglite-sink.ts";
import { CHART, conflictSuite } from "./conflicts-scenario.ts";

// the embedded database opens in every CLI call (seconds each): one entity of each kind there
conflictSuite("the embedded database", ["well", CHART], async (store) => ({
  dbFlags: [],
  async inspect(fn) {
    const sink = await PgliteSink.open({ schema: "mudsync", dataDir: path.join(store, "pglite"), migrate: false });
    try {
      await fn(async (sql, params) => (await sink.client.query<Record<string, unknown>>(sql, params)).rows);
    } finally {
      await sink.close();
    }
  },
}));

