/**
 * PGlite for tests: one migrated in-memory instance per test file (a fresh PGlite takes seconds
 * and ~0.7 GiB, so never one per test). Tests keep rows apart with unique ids instead.
 */
import { PgliteSink } from "../../src/sinks/pglite/pglite-sink.ts";

export async function createMigratedPglite(schema = "mudsync"): Promise<PgliteSink> {
  return PgliteSink.open({ schema, migrate: true });
}

/** A unique prefix for the ids of one test. */
let counter = 0;
export function uniquePrefix(label = "t"): string {
  counter += 1;
  return `${label}${counter}-${Date.now().toString(36)}-`;
}
