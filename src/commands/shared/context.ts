/**
 * Turns commander's parsed options into the resolved config a command receives. Only options the
 * user actually passed override the config file and environment.
 */
import { type Command, InvalidArgumentError } from "commander";
import type { Config } from "../../config/config.ts";
import { UsageError } from "../../errors.ts";
import { parseDurationText } from "../../core/duration.ts";

export interface CommandContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  config: Config & { configFile?: string };
  json: boolean;
  /** true when stdout is a terminal (Ink/progress bars allowed) */
  tty: boolean;
}

/** Maps flag names (commander's camelCase) to config keys when they differ. */
const FLAG_TO_CONFIG: Record<string, keyof Config> = {
  store: "store",
  db: "db",
  schema: "schema",
  batchSize: "batchSize",
  batchDelay: "batchDelayMs",
  maxAttempts: "maxAttempts",
  strategy: "strategy",
  logLevel: "logLevel",
  coalesce: "coalesce",
  leaseMs: "leaseMs",
};

/** Async so that the config schema (zod, yaml) loads only when a command runs, not for --help. */
export async function contextFrom(cmd: Command, env: NodeJS.ProcessEnv = process.env): Promise<CommandContext> {
  const { resolveConfig } = await import("../../config/config.ts");
  const opts = cmd.optsWithGlobals() as Record<string, unknown>;
  const flags: Partial<Config> = {};
  for (const [flag, key] of Object.entries(FLAG_TO_CONFIG)) {
    const source = cmd.getOptionValueSourceWithGlobals(flag);
    if (source === "cli" || source === "env") (flags as Record<string, unknown>)[key] = opts[flag];
  }
  const cwd = process.cwd();
  return {
    cwd,
    env,
    config: resolveConfig({ cwd, env, configFile: opts.config as string | undefined, flags }),
    json: Boolean(opts.json),
    tty: Boolean(process.stdout.isTTY) && !opts.json,
  };
}

/** commander argParser for integers with a clear message */
export function intArg(name: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${value}"`);
    }
    return n;
  };
}

/** "30s", "5m", "1h", "2h15m", "1500ms" or plain milliseconds -> ms; a UsageError naming the flag otherwise. */
export function parseDuration(flag: string, value: string): number {
  const ms = parseDurationText(value);
  if (ms === undefined) throw new UsageError(`${flag} expects a duration like 30s, 5m, 1h or milliseconds, got "${value}"`);
  return ms;
}

/** A commander parser for a duration flag (see parseDuration). */
export function durationArg(flag: string) {
  return (value: string): number => {
    try {
      return parseDuration(flag, value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}
