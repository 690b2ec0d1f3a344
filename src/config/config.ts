/**
 * Configuration: defaults < config file < environment < flags that were actually passed.
 * Validated once with a schema that reports dot-paths, resolved into a fully-populated object.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { InvalidInputError, UsageError } from "../errors.ts";
import { describeIssues } from "../core/event.ts";
import { MAX_PAYLOAD_BYTES } from "../core/value-limits.ts";
import { MAX_EVENTS_PER_REQUEST } from "../core/request-limits.ts";
import { SQL_IDENTIFIER_RE } from "../postgres/sql-identifier.ts";

import { STRATEGIES, type Strategy } from "./strategies.ts";

export { STRATEGIES, type Strategy };

export const configSchema = z.strictObject({
  /** store directory (Dexie queue + cache, embedded PGlite data) */
  store: z.string().min(1).max(4096),
  /** postgres://… ; absent = embedded PGlite in <store>/pglite */
  db: z.string().max(4096).url().optional(),
  supabaseUrl: z.string().max(4096).url().optional(),
  supabaseKey: z.string().min(1).max(16_384).optional(),
  /** Postgres schema holding mudsync's tables and functions */
  schema: z.string().regex(SQL_IDENTIFIER_RE, "a lower-case SQL identifier"),
  /** Postgres schema of the shared queue's tables (`--queue postgres://…`) */
  queueSchema: z.string().regex(SQL_IDENTIFIER_RE, "a lower-case SQL identifier"),
  batchSize: z.number().int().min(1).max(10000),
  batchDelayMs: z.number().int().min(0).max(60000),
  maxAttempts: z.number().int().min(1).max(1000),
  leaseMs: z.number().int().min(100),
  backoff: z.strictObject({
    baseMs: z.number().int().min(1),
    maxMs: z.number().int().min(1),
    jitter: z.number().min(0).max(1),
  }),
  coalesce: z.boolean(),
  strategy: z.enum(STRATEGIES),
  strategies: z.record(z.string().min(1).max(100), z.enum(STRATEGIES)).refine((s) => Object.keys(s).length <= 1000, "at most 1000 entities"),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
  /** warn when the head of the queue has not moved for this long */
  stuckAfterMs: z.number().int().min(1000),
  /** what one producer may send (docs/security.md#limits) */
  limits: z.strictObject({
    /** largest event payload in bytes of JSON text (the server's own default is 1 MiB) */
    maxPayloadBytes: z.number().int().min(1024).max(64 * 1024 * 1024),
    /** events a second one client id may enqueue or send as browser batches through the daemon */
    eventsPerSecond: z.number().positive().max(10_000_000),
    /** events one client id may send at once before the rate applies */
    burst: z.number().int().min(1).max(10_000_000),
    /** most events in one request (POST /v1/events, /v1/batches) */
    maxBatchEvents: z.number().int().min(1).max(MAX_EVENTS_PER_REQUEST),
  }),
});
export type Config = z.infer<typeof configSchema>;

export const DEFAULTS: Config = {
  store: ".mudsync",
  schema: "mudsync",
  queueSchema: "mudsync_queue",
  batchSize: 500,
  batchDelayMs: 0,
  maxAttempts: 10,
  leaseMs: 30_000,
  backoff: { baseMs: 1000, maxMs: 30_000, jitter: 0.2 },
  coalesce: true,
  strategy: "manual",
  strategies: {},
  logLevel: "info",
  stuckAfterMs: 60_000,
  limits: { maxPayloadBytes: MAX_PAYLOAD_BYTES, eventsPerSecond: 1000, burst: MAX_EVENTS_PER_REQUEST, maxBatchEvents: MAX_EVENTS_PER_REQUEST },
};

const CONFIG_FILES = ["mudsync.config.yaml", "mudsync.config.yml", "mudsync.config.json"];

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new InvalidInputError(file, undefined, `cannot read config file (${(err as Error).message})`);
  }
  let value: unknown;
  try {
    value = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new InvalidInputError(file, undefined, `not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${(err as Error).message.split("\n")[0]}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidInputError(file, "(root)", "expected a mapping of settings");
  }
  return value as Record<string, unknown>;
}

/** A nested section of the file over its defaults; anything but a mapping is kept for the schema to report. */
function section(defaults: object, v: unknown): unknown {
  if (v === undefined) return defaults;
  return v !== null && typeof v === "object" && !Array.isArray(v) ? { ...defaults, ...v } : v;
}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (env.MUDSYNC_STORE) out.store = env.MUDSYNC_STORE;
  if (env.DATABASE_URL) out.db = env.DATABASE_URL;
  if (env.MUDSYNC_DB) out.db = env.MUDSYNC_DB;
  if (env.SUPABASE_URL) out.supabaseUrl = env.SUPABASE_URL;
  const key = env.SUPABASE_KEY ?? env.SUPABASE_ANON_KEY;
  if (key) out.supabaseKey = key;
  if (env.MUDSYNC_SCHEMA) out.schema = env.MUDSYNC_SCHEMA;
  if (env.MUDSYNC_QUEUE_SCHEMA) out.queueSchema = env.MUDSYNC_QUEUE_SCHEMA;
  if (env.MUDSYNC_LOG_LEVEL) out.logLevel = env.MUDSYNC_LOG_LEVEL;
  return out;
}

export interface ResolveInput {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** explicit --config path */
  configFile?: string;
  /** only flags that were actually passed */
  flags: Partial<Config>;
}

export function resolveConfig(input: ResolveInput): Config & { configFile?: string } {
  let file = input.configFile ? path.resolve(input.cwd, input.configFile) : undefined;
  if (file && !existsSync(file)) throw new UsageError(`config file ${file} does not exist`);
  if (!file) {
    for (const name of CONFIG_FILES) {
      const candidate = path.join(input.cwd, name);
      if (existsSync(candidate)) {
        file = candidate;
        break;
      }
    }
  }
  const fileValues = file ? readConfigFile(file) : {};
  const merged = {
    ...DEFAULTS,
    ...fileValues,
    backoff: section(DEFAULTS.backoff, fileValues.backoff),
    limits: section(DEFAULTS.limits, fileValues.limits),
    ...fromEnv(input.env),
    ...Object.fromEntries(Object.entries(input.flags).filter(([, v]) => v !== undefined)),
  };
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    throw new InvalidInputError(file ?? "configuration", undefined, describeIssues(parsed.error));
  }
  const config = parsed.data;
  return { ...config, store: path.resolve(input.cwd, config.store), configFile: file };
}

/** Strategy for one entity: per-entity config wins over the run's default. */
export function strategyFor(config: Pick<Config, "strategy" | "strategies">, entity: string): Strategy {
  return config.strategies[entity] ?? config.strategy;
}
