/** `conflicts ls|show|resolve` on the embedded database (PGlite in the store): see conflicts-scenario.ts. */
import path from "node:path";
import { PgliteSink } from "../../src/sinks/pglite/pglite-sink.ts";
import { withMigratedPglite } from "../helpers/pglite-template.ts";
import { CHART, conflictSuite } from "./conflicts-scenario.ts";

// the embedded database opens in every CLI call: one entity of each kind there; the store starts
// from a copy of a migrated database (a fresh one takes seconds)
conflictSuite("the embedded database", ["well", CHART], async (store) => {
  await withMigratedPglite(store);
  return {
    dbFlags: [],
    async inspect(fn) {
      const sink = await PgliteSink.open({ schema: "mudsync", dataDir: path.join(store, "pglite"), migrate: false });
      try {
        await fn(async (sql, params) => (await sink.client.query<Record<string, unknown>>(sql, params)).rows);
      } finally {
        await sink.close();
      }
    },
  };
});
