/** The sink contract on the real PostgreSQL server: a fresh database for this file, dropped after. */
import { describe } from "vitest";
import { PgClient } from "../../src/sinks/pg/pg-client.ts";
import { PgSink } from "../../src/sinks/pg/pg-sink.ts";
import { createTestDatabase, realPgAvailable } from "../helpers/pg.ts";
import { sinkContract } from "./sink-contract.ts";

describe.runIf(await realPgAvailable())("real PostgreSQL", () => {
  sinkContract("pg", async () => {
    const db = await createTestDatabase("mudsync_sink");
    const sink = new PgSink(new PgClient({ url: db.url, max: 10 }), { schema: "mudsync" });
    await sink.migrate();
    return {
      sink,
      close: async () => {
        await sink.close();
        await db.drop();
      },
    };
  }, { concurrent: true });
});
