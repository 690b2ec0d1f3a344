/**
 * The scenario file's schema (docs/sim.md, "Scenario files"): strict objects whose every error
 * message is the "expected …" phrase of a one-line report, plus the cross-field checks a schema
 * cannot express (one of actions or rate, a span to spread them over, fault times inside the run).
 */
import { z } from "zod";
import { STRATEGIES } from "../../config/strategies.ts";
import { parseDurationText } from "../../core/duration.ts";
import { formatDuration } from "../../core/format-duration.ts";

export const SELECTOR_HINT = '"all", an index, a range like "0-24" or a list of indexes';
export const DURATION_HINT = "a duration like 500ms, 30s, 5m, 2h, 2h15m or a number of milliseconds";
const SIGNED_DURATION_HINT = "a duration like -10m, +3h, 30s or a number of milliseconds";
export const RATE_HINT = 'a rate like "2/m" (actions per client per second, minute or hour, above 0)';
export const POISON_VARIANTS = ["unknown-entity", "invalid-payload", "oversized"] as const;
export const MIX_KINDS = ["add", "update", "remove", "read"] as const;

/** An object that rejects unknown keys, naming the keys it knows. */
function strict<T extends z.ZodRawShape>(shape: T, what: string) {
  const known = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (iss) => (iss.code === "unrecognized_keys" ? `one of ${known}` : what),
  });
}

function int(min: number, max?: number) {
  const msg = max === undefined ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  const n = z.number({ error: msg }).int({ error: msg }).min(min, { error: msg });
  return max === undefined ? n : n.max(max, { error: msg });
}

function num(min: number, max: number | undefined, msg: string) {
  const n = z.number({ error: msg }).min(min, { error: msg });
  return max === undefined ? n : n.max(max, { error: msg });
}

/** Milliseconds of a duration value the schema accepted (a number or duration text). */
export function durationMs(value: number | string): number {
  return typeof value === "number" ? value : (parseDurationText(value) ?? Number.NaN);
}

/** A signed duration (`-10m`, `+3h`, or a number of ms) in ms, or undefined. */
export function signedDurationMs(value: number | string): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) ? value : undefined;
  const m = /^\s*([+-]?)\s*(.+)$/.exec(value);
  const ms = m ? parseDurationText(m[2]!) : undefined;
  return ms === undefined ? undefined : m![1] === "-" ? -ms : ms;
}

/** `2/m` -> actions per ms, or undefined. */
export function ratePerMs(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(s|m|h)\s*$/.exec(text);
  if (!m || Number(m[1]) <= 0) return undefined;
  return Number(m[1]) / { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "s" | "m" | "h"];
}

/** A duration of at least `min` ms, kept as written (number or text); `durationMs` reads it. */
function duration(min = 0) {
  const msg = min > 0 ? `${DURATION_HINT}, above 0` : DURATION_HINT;
  return z
    .union([z.number(), z.string()], { error: msg })
    .refine((v) => {
      const ms = durationMs(v);
      return Number.isInteger(ms) && ms >= min;
    }, { error: msg });
}

const signedDuration = z
  .union([z.number(), z.string()], { error: SIGNED_DURATION_HINT })
  .refine((v) => signedDurationMs(v) !== undefined, { error: SIGNED_DURATION_HINT });

/** "all", 3, "3", "0-24" or [0, 3, 7]; ranges must not run backwards. Range checks against the
 *  client count happen when the scenario is resolved (`--clients` may change the count). */
export const selectorSchema = z
  .union([z.number(), z.string(), z.array(z.number())], { error: SELECTOR_HINT })
  .refine((v) => {
    if (typeof v === "number") return Number.isInteger(v) && v >= 0;
    if (Array.isArray(v)) return v.length > 0 && v.every((i) => Number.isInteger(i) && i >= 0);
    if (v === "all") return true;
    const m = /^(\d+)(?:-(\d+))?$/.exec(v.trim());
    return m !== null && (m[2] === undefined || Number(m[2]) >= Number(m[1]));
  }, { error: SELECTOR_HINT });
export type ClientSelector = z.infer<typeof selectorSchema>;

const STRATEGY_HINT = `one of ${STRATEGIES.join(", ")}`;
const strategy = z.enum(STRATEGIES, { error: STRATEGY_HINT });
const docRows = strict({ rows: int(1, 100_000) }, "a mapping with rows");

const mixSchema = strict(
  Object.fromEntries(MIX_KINDS.map((k) => [k, num(0, undefined, "a number >= 0").optional()])) as Record<
    (typeof MIX_KINDS)[number],
    z.ZodOptional<z.ZodNumber>
  >,
  `a mapping of weights (${MIX_KINDS.join(", ")})`,
);

const workloadSchema = strict(
  {
    entities: strict(
      {
        chart_data_source: strict({ rows: int(1, 100_000), entries: int(1, 1000).optional() }, "a mapping with rows and entries").optional(),
        well: docRows.optional(),
        polygon: docRows.optional(),
        curve: docRows.optional(),
      },
      "a mapping of entities (chart_data_source, well, polygon, curve) to their rows",
    ),
    actions: int(1).optional(),
    rate: z.string({ error: RATE_HINT }).refine((v) => ratePerMs(v) !== undefined, { error: RATE_HINT }).optional(),
    duration: duration(1).optional(),
    mix: mixSchema.optional(),
    hot: strict({ rows: int(1), share: num(0, 1, "a number from 0 to 1") }, "a mapping with rows and share").optional(),
    drainEvery: duration(1).optional(),
  },
  "a mapping with entities and actions or rate",
);

const phaseSchema = z.union(
  [strict({ online: duration(1) }, "a phase"), strict({ offline: duration(1) }, "a phase")],
  { error: "a phase { online: <duration> } or { offline: <duration> }" },
);

const timelineGroupSchema = strict(
  {
    clients: selectorSchema,
    phases: z.array(phaseSchema, { error: "a list of phases" }).min(1, { error: "a list of at least one phase" }),
  },
  "a mapping with clients and phases",
);

const faultBase = { clients: selectorSchema.optional() };

/** Network faults, done by the runner's TCP proxy in front of a real server. */
export const NETWORK_MODES = ["cut", "refuse", "latency", "drop-request"] as const;
export const FAULT_KINDS = [
  "poison", "duplicate-batch", "clock-skew", "old-export", "offline",
  "applied-but-errored", "network", "terminate-backends", "statement-timeout", "kill-daemon", "restart-server",
] as const;
/** Fault kinds that act on a real server's connections or backends, or on daemons draining a queue on it: not on PGlite. */
export const SERVER_FAULT_KINDS: ReadonlySet<string> = new Set(["network", "terminate-backends", "statement-timeout", "kill-daemon"]);

const faultSchema = z.discriminatedUnion(
  "kind",
  [
    strict(
      {
        kind: z.literal("poison"),
        ...faultBase,
        variant: z.enum(POISON_VARIANTS, { error: `one of ${POISON_VARIANTS.join(", ")}` }),
        count: int(1, 10_000).optional(),
        at: duration().optional(),
      },
      "a poison fault",
    ),
    strict(
      {
        kind: z.literal("duplicate-batch"),
        ...faultBase,
        every: int(1).optional(),
        chance: num(0, 1, "a number from 0 to 1").optional(),
        at: duration().optional(),
      },
      "a duplicate-batch fault",
    ),
    strict({ kind: z.literal("clock-skew"), ...faultBase, skew: signedDuration }, "a clock-skew fault"),
    strict({ kind: z.literal("old-export"), ...faultBase, exportAt: duration(), replayAt: duration() }, "an old-export fault"),
    strict({ kind: z.literal("offline"), ...faultBase, at: duration(), for: duration(1) }, "an offline fault"),
    strict(
      { kind: z.literal("applied-but-errored"), ...faultBase, every: int(1).optional(), chance: num(0, 1, "a number from 0 to 1").optional(), at: duration().optional() },
      "an applied-but-errored fault",
    ),
    strict(
      {
        kind: z.literal("network"),
        ...faultBase,
        mode: z.enum(NETWORK_MODES, { error: `one of ${NETWORK_MODES.join(", ")}` }),
        every: int(1).optional(),
        chance: num(0, 1, "a number from 0 to 1").optional(),
        at: duration().optional(),
        for: duration(1).optional(),
        latency: duration(1).optional(),
      },
      "a network fault",
    ),
    strict(
      { kind: z.literal("terminate-backends"), ...faultBase, every: int(1).optional(), chance: num(0, 1, "a number from 0 to 1").optional(), at: duration().optional() },
      "a terminate-backends fault",
    ),
    strict(
      { kind: z.literal("kill-daemon"), every: duration(1), count: int(1, 10_000), restartAfter: duration().optional() },
      "a kill-daemon fault",
    ),
    strict({ kind: z.literal("restart-server"), at: duration() }, "a restart-server fault"),
    strict({ kind: z.literal("statement-timeout"), ...faultBase, at: duration(), for: duration(1), timeout: duration(1).optional() }, "a statement-timeout fault"),
  ],
  { error: `a fault kind: ${FAULT_KINDS.join(", ")}` },
);

export const scenarioFileSchema = strict(
  {
    name: z
      .string({ error: "a name of letters, digits, '.', '_' or '-'" })
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { error: "a name of letters, digits, '.', '_' or '-'" })
      .optional(),
    description: z.string({ error: "one line of text" }).refine((s) => !s.includes("\n"), { error: "one line of text" }).optional(),
    ci: z.boolean({ error: "true or false" }).optional(),
    seed: int(0, 0xffff_ffff).optional(),
    expect: z.enum(["pass", "fail"], { error: "pass or fail" }).optional(),
    sink: z
      .string({ error: "pglite or a postgres:// URL" })
      .refine((s) => s === "pglite" || /^postgres(ql)?:\/\/\S+$/.test(s), { error: "pglite or a postgres:// URL" })
      .optional(),
    clients: strict({ count: int(1, 10_000).optional(), store: z.enum(["memory", "disk"], { error: "memory or disk" }).optional() }, "a mapping with count and store").optional(),
    strategy: strategy.optional(),
    strategies: strict(
      { chart_data_source: strategy.optional(), well: strategy.optional(), polygon: strategy.optional(), curve: strategy.optional() },
      "a mapping of entities to strategies",
    ).optional(),
    engine: strict(
      { batchSize: int(1, 10_000).optional(), coalesce: z.boolean({ error: "true or false" }).optional(), maxAttempts: int(1, 1000).optional() },
      "a mapping with batchSize, coalesce and maxAttempts",
    ).optional(),
    cache: strict({ ttl: duration().optional() }, "a mapping with ttl").optional(),
    workload: workloadSchema,
    timeline: z.array(timelineGroupSchema, { error: "a list of client groups with phases" }).min(1, { error: "a list of at least one client group" }).optional(),
    faults: z.array(faultSchema, { error: "a list of faults" }).optional(),
    daemons: strict(
      { count: int(1, 16), lease: duration(100).optional(), serializable: z.boolean({ error: "true or false" }).optional() },
      "a mapping with count, lease and serializable",
    ).optional(),
  },
  "a mapping with at least a workload",
);

export type ScenarioFile = z.infer<typeof scenarioFileSchema>;
export type ScenarioFault = NonNullable<ScenarioFile["faults"]>[number];

/** A problem found after the schema passed: where, what was expected, and what was there. */
export interface ScenarioProblem {
  path: (string | number)[];
  expected: string;
  got: string;
}

/** The length of the longest timeline group, in ms (0 without a timeline). */
export function timelineLengthMs(file: ScenarioFile): number {
  let max = 0;
  for (const group of file.timeline ?? []) {
    const sum = group.phases.reduce((s, p) => s + durationMs("online" in p ? p.online : p.offline), 0);
    max = Math.max(max, sum);
  }
  return max;
}

/** The virtual span actions are spread over: `workload.duration`, else the timeline's length. */
export function workloadSpanMs(file: ScenarioFile): number {
  return file.workload.duration !== undefined ? durationMs(file.workload.duration) : timelineLengthMs(file);
}

/** The end of the run: the later of the workload's span and the timeline's length. */
export function scenarioEndMs(file: ScenarioFile): number {
  return Math.max(workloadSpanMs(file), timelineLengthMs(file));
}

/** Checks across fields that do not depend on command-line overrides; the first problem, if any. */
export function checkScenarioFile(file: ScenarioFile): ScenarioProblem | undefined {
  const w = file.workload;
  const entityRows = Object.values(w.entities).map((e) => e!.rows);
  if (entityRows.length === 0) {
    return { path: ["workload", "entities"], expected: "at least one entity (chart_data_source, well, polygon, curve)", got: "none" };
  }
  if (w.actions !== undefined && w.rate !== undefined) {
    return { path: ["workload"], expected: "either actions or rate", got: "both" };
  }
  if (w.actions === undefined && w.rate === undefined) {
    return { path: ["workload", "actions"], expected: "a number of actions per client (or a rate)", got: "nothing" };
  }
  const span = workloadSpanMs(file);
  if (span === 0) {
    return { path: ["workload", "duration"], expected: "a duration (or a timeline) to spread the actions over", got: "nothing" };
  }
  if (w.rate !== undefined && Math.round(ratePerMs(w.rate)! * span) < 1) {
    return { path: ["workload", "rate"], expected: "at least one action per client over the span", got: `"${w.rate}" over ${formatDuration(span)}` };
  }
  if (w.mix && !MIX_KINDS.some((k) => (w.mix![k] ?? 0) > 0)) {
    return { path: ["workload", "mix"], expected: "at least one weight above 0", got: "none" };
  }
  const maxRows = Math.max(...entityRows);
  if (w.hot && w.hot.rows > maxRows) {
    return { path: ["workload", "hot", "rows"], expected: `at most ${maxRows} (the most rows of an entity)`, got: String(w.hot.rows) };
  }
  return checkFaults(file, scenarioEndMs(file));
}

function checkFaults(file: ScenarioFile, endMs: number): ScenarioProblem | undefined {
  const end = formatDuration(endMs);
  const late = (i: number, key: string, ms: number, raw: unknown): ScenarioProblem | undefined =>
    ms > endMs ? { path: ["faults", i, key], expected: `a time within the run (which ends at ${end})`, got: JSON.stringify(raw) } : undefined;
  for (const [i, f] of (file.faults ?? []).entries()) {
    let p: ScenarioProblem | undefined;
    if (f.kind === "poison" && f.at !== undefined) p = late(i, "at", durationMs(f.at), f.at);
    if (f.kind === "duplicate-batch" || f.kind === "applied-but-errored" || f.kind === "terminate-backends" || f.kind === "network") {
      const given = (["every", "chance", "at"] as const).filter((k) => f[k] !== undefined);
      if (given.length !== 1) {
        return { path: ["faults", i], expected: "exactly one of every, chance or at", got: given.length ? given.join(" and ") : "none" };
      }
      if (f.at !== undefined) p = late(i, "at", durationMs(f.at), f.at);
    }
    if (f.kind === "old-export") {
      if (durationMs(f.replayAt) <= durationMs(f.exportAt)) {
        return { path: ["faults", i, "replayAt"], expected: "a time after exportAt", got: JSON.stringify(f.replayAt) };
      }
      p = late(i, "replayAt", durationMs(f.replayAt), f.replayAt);
    }
    if (f.kind === "network" && (f.mode === "refuse" || f.mode === "latency") && f.for === undefined) {
      return { path: ["faults", i, "for"], expected: `how long the network ${f.mode === "refuse" ? "refuses connections" : "is slow"} (a duration)`, got: "nothing" };
    }
    if (f.kind === "network" && f.mode === "latency" && f.latency === undefined) {
      return { path: ["faults", i, "latency"], expected: "the added latency (a duration, wall time)", got: "nothing" };
    }
    if (f.kind === "statement-timeout" || f.kind === "restart-server") p = late(i, "at", durationMs(f.at), f.at);
    if (f.kind === "kill-daemon" && file.daemons === undefined) {
      return { path: ["faults", i], expected: "daemons: { count: N } in the scenario (the daemons it kills)", got: "no daemons" };
    }
    if (f.kind === "offline" && durationMs(f.at) + durationMs(f.for) > endMs) {
      return { path: ["faults", i, "for"], expected: `an outage that ends within the run (which ends at ${end})`, got: `${JSON.stringify(f.for)} from ${JSON.stringify(f.at)}` };
    }
    if (p) return p;
  }
  return undefined;
}
