/**
 * The sink contract on the real PostgreSQL server through node-postgres: a fresh database for this
 * file (dropped after), inspected through its own pool beside the sink's.
 */
import { describe } from "vitest";
import { PgClient } from "../../src/postgres/pg-client.ts";
import { PgSink } from "../../src/sinks/pg/pg-sink.ts";
import { createTestDatabase, realPgAvailable, realPgHasLz4 } from "../helpers/pg.ts";
import { sinkContract } from "./sink-contract.ts";

const lz4 = await realPgHasLz4();

describe.runIf(await realPgAvailable())("real PostgreSQL", () => {
  sinkContract(
    "pg",
    async () => {
      const db = await createTestDatabase("mudsync_sink");
      const sink = new PgSink(new PgClient({ url: db.url, max: 10 }), { schema: "mudsync" });
      const inspect = new PgClient({ url: db.url, max: 2 });
      const cleanup = async () => {
        await sink.close();
        await inspect.close();
        await db.drop();
      };
      try {
        await sink.migrate();
      } catch (err) {
        await cleanup();
        throw err;
      }
      // the daemon follows a pg sink through its own LISTEN
      return { sink, inspect, feed: sink, cleanup };
    },
    {
      schema: "mudsync",
      capabilities: { supportsTransactions: true, supportsListen: true, supportsDryRun: true },
      parksConflicts: true,
      concurrent: true,
      lz4,
    },
  );
});
