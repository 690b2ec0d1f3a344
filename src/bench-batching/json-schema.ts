/**
 * Where the JSON Schema of `bench batching --json` lives: schemas/bench-batching.schema.json,
 * shipped with the package so that tools reading the result can validate it.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const BENCH_BATCHING_SCHEMA_PATH = fileURLToPath(new URL("../../schemas/bench-batching.schema.json", import.meta.url));

export function benchBatchingSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(BENCH_BATCHING_SCHEMA_PATH, "utf8")) as Record<string, unknown>;
}
