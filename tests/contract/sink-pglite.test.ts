/**
 * The sink contract on the embedded PGlite: one migrated in-memory instance for the file (a fresh
 * PGlite costs seconds and ~0.7 GiB), inspected through the same instance. PGlite runs one
 * session, so the concurrent-batches case runs on the real server only.
 */
import { createMigratedPglite } from "../helpers/pglite.ts";
import { sinkContract } from "./sink-contract.ts";

sinkContract(
  "pglite",
  async () => {
    const sink = await createMigratedPglite("mudsync");
    return { sink, inspect: sink.client, feed: sink, cleanup: () => sink.close() };
  },
  {
    schema: "mudsync",
    capabilities: { supportsTransactions: true, supportsListen: true, supportsDryRun: true },
    parksConflicts: true,
    concurrent: false,
    lz4: false,
  },
);
