/** The sink contract on the embedded PGlite (one migrated in-memory instance for the file). */
import { sinkContract } from "./sink-contract.ts";
import { createMigratedPglite } from "../helpers/pglite.ts";

sinkContract("pglite", async () => {
  const sink = await createMigratedPglite();
  return { sink, close: () => sink.close() };
}, { concurrent: false });
