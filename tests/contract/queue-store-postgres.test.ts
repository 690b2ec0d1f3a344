/**
 * Runs the QueueStore contract against the shared Postgres queue store on the real server: one
 * fresh database for this file (dropped after), one fresh schema per test.
 */
import { afterAll, beforeAll, describe } from "vitest";
import pg from "pg";
import { openPostgresQueueStore } from "../../src/stores/postgres/index.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { queueStoreContract } from "./queue-store-contract.ts";

describe.runIf(await realPgAvailable())("postgres queue store", () => {
  let db: TestDatabase;
  let n = 0;
  beforeAll(async () => {
    db = await createTestDatabase("mudsync_pgq_contract");
  });
  afterAll(async () => {
    await db?.drop();
  });

  queueStoreContract("postgres", async () => {
    const schema = `q_${++n}`;
    const store = await openPostgresQueueStore({ url: db.url, schema });
    return {
      store,
      cleanup: async () => {
        await store.close();
        const c = new pg.Client({ connectionString: db.url });
        await c.connect();
        try {
          await c.query(`drop schema "${schema}" cascade`);
        } finally {
          await c.end();
        }
      },
    };
  });
});
