/**
 * Turns a validated scenario file plus the command line's overrides (--seed, --clients, --sink)
 * into a fully populated Scenario: defaults filled, durations in ms, actions per client counted,
 * client selectors expanded and every client's timeline laid out from 0 to the end of the run.
 */
import path from "node:path";
import type { Strategy } from "../../config/strategies.ts";
import { UsageError } from "../../errors.ts";
import { scenarioError } from "./load-scenario.ts";
import {
  type ClientSelector,
  durationMs,
  MIX_KINDS,
  type POISON_VARIANTS,
  ratePerMs,
  scenarioEndMs,
  type ScenarioFault,
  type ScenarioFile,
  signedDurationMs,
  workloadSpanMs,
  type NETWORK_MODES,
} from "./scenario-schema.ts";

export type ScenarioSink = { kind: "pglite" } | { kind: "postgres"; url: string };
export type ActionKind = (typeof MIX_KINDS)[number];
export type ClientState = "online" | "offline";

/** One stretch of a client's timeline, [fromMs, toMs) in virtual time. */
export interface ClientPhase {
  state: ClientState;
  fromMs: number;
  toMs: number;
}

export interface ScenarioEntity {
  entity: string;
  /** how many rows: their ids are `<entity>-<n>`, n from 1 */
  rows: number;
  /** chart rows only: how many entries each row may select, ids `curve-1` … `curve-<entries>` */
  entries?: number;
}

export interface ScenarioWorkload {
  entities: ScenarioEntity[];
  actionsPerClient: number;
  /** the virtual span the actions are spread over */
  durationMs: number;
  mix: Record<ActionKind, number>;
  /** `share` of the actions go to the first `rows` rows of an entity */
  hot?: { rows: number; share: number };
  drainEveryMs: number;
}

/** Times are virtual ms; `clients` are client indexes. */
export type PoisonFault = { kind: "poison"; clients: number[]; variant: (typeof POISON_VARIANTS)[number]; count: number; atMs: number };
/** Exactly one of `every` (Nth batch), `chance` (per batch) or `atMs` (the first batch at or after). */
export type DuplicateBatchFault = { kind: "duplicate-batch"; clients: number[]; every?: number; chance?: number; atMs?: number };
export type ClockSkewFault = { kind: "clock-skew"; clients: number[]; skewMs: number };
export type OldExportFault = { kind: "old-export"; clients: number[]; exportAtMs: number; replayAtMs: number };
export type OfflineFault = { kind: "offline"; clients: number[]; atMs: number; forMs: number };
export type FaultWhen = { every?: number; chance?: number; atMs?: number };
export type AppliedButErroredFault = { kind: "applied-but-errored"; clients: number[] } & FaultWhen;
export type NetworkFault = { kind: "network"; clients: number[]; mode: (typeof NETWORK_MODES)[number]; forMs?: number; latencyMs?: number } & FaultWhen;
export type TerminateBackendsFault = { kind: "terminate-backends"; clients: number[] } & FaultWhen;
export type StatementTimeoutFault = { kind: "statement-timeout"; clients: number[]; atMs: number; forMs: number; timeoutMs: number };
/** Wall time: daemons are processes, killed while they drain. */
export type KillDaemonFault = { kind: "kill-daemon"; clients: number[]; everyMs: number; count: number; restartAfterMs: number };
/** The embedded PGlite, the one server the runner owns, closed and opened again from its data directory. */
export type RestartServerFault = { kind: "restart-server"; clients: number[]; atMs: number };
export type FaultSpec =
  | PoisonFault | DuplicateBatchFault | ClockSkewFault | OldExportFault | OfflineFault
  | AppliedButErroredFault | NetworkFault | TerminateBackendsFault | StatementTimeoutFault | KillDaemonFault | RestartServerFault;

export interface Scenario {
  name: string;
  /** the file it came from (as given) */
  source: string;
  description: string;
  ci: boolean;
  seed: number;
  expect: "pass" | "fail";
  sink: ScenarioSink;
  clients: { count: number; store: "memory" | "disk" };
  strategies: { default: Strategy; byEntity: Record<string, Strategy> };
  engine: { batchSize: number; coalesce: boolean; maxAttempts: number };
  cacheTtlMs: number;
  workload: ScenarioWorkload;
  /** per client index, its phases in order, covering [0, endMs) */
  timeline: ClientPhase[][];
  /** the end of the run: the later of the workload's span and the timeline's length */
  endMs: number;
  faults: FaultSpec[];
  /**
   * Daemons draining one shared Postgres queue (child processes, wall time): the clients enqueue
   * into it instead of draining their own stores.
   */
  daemons?: { count: number; leaseMs: number; serializable: boolean };
}

export interface ScenarioOverrides {
  seed?: number;
  clients?: number;
  sink?: string;
}

export const SCENARIO_DEFAULTS = {
  clients: 4,
  store: "memory",
  strategy: "merge",
  cacheTtlMs: 5 * 60_000,
  mix: { add: 1, update: 4, remove: 1, read: 4 },
  drainEveryMs: 1000,
  chartEntries: 8,
  engine: { batchSize: 100, coalesce: true, maxAttempts: 10 },
  expect: "pass",
  seed: 1,
} as const;

const MAX_CLIENTS = 10_000;

/** The scenario's name: its `name`, else the file name without its extension. */
export function scenarioName(file: ScenarioFile, source: string): string {
  return file.name ?? path.basename(source).replace(/\.(ya?ml|json)$/i, "");
}

export function resolveScenario(file: ScenarioFile, overrides: ScenarioOverrides, source: string): Scenario {
  const count = overrides.clients ?? file.clients?.count ?? SCENARIO_DEFAULTS.clients;
  if (!Number.isInteger(count) || count < 1 || count > MAX_CLIENTS) {
    throw new UsageError(`--clients expects an integer from 1 to ${MAX_CLIENTS}, got ${count}`);
  }
  const seed = overrides.seed ?? file.seed ?? SCENARIO_DEFAULTS.seed;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new UsageError(`--seed expects an integer from 0 to ${0xffff_ffff}, got ${seed}`);
  }
  const selectors = new ClientSelectors(source, count);
  const endMs = scenarioEndMs(file);
  const byEntity = Object.fromEntries(Object.entries(file.strategies ?? {}).filter(([, s]) => s !== undefined)) as Record<string, Strategy>;
  return {
    name: scenarioName(file, source),
    source,
    description: file.description ?? "",
    ci: file.ci ?? false,
    seed,
    expect: file.expect ?? SCENARIO_DEFAULTS.expect,
    sink: resolveSink(overrides.sink ?? file.sink ?? "pglite", overrides.sink !== undefined),
    clients: { count, store: file.clients?.store ?? SCENARIO_DEFAULTS.store },
    strategies: { default: file.strategy ?? SCENARIO_DEFAULTS.strategy, byEntity },
    engine: { ...SCENARIO_DEFAULTS.engine, ...definedOnly(file.engine ?? {}) },
    cacheTtlMs: file.cache?.ttl !== undefined ? durationMs(file.cache.ttl) : SCENARIO_DEFAULTS.cacheTtlMs,
    workload: resolveWorkload(file),
    timeline: resolveTimeline(file, selectors, endMs),
    endMs,
    faults: (file.faults ?? []).map((f, i) => resolveFault(f, selectors.resolve("clients" in f ? f.clients : undefined, ["faults", i, "clients"]))),
    ...(file.daemons
      ? { daemons: { count: file.daemons.count, leaseMs: file.daemons.lease !== undefined ? durationMs(file.daemons.lease) : 2000, serializable: file.daemons.serializable ?? false } }
      : {}),
  };
}

function resolveSink(text: string, fromFlag: boolean): ScenarioSink {
  if (text === "pglite") return { kind: "pglite" };
  if (/^postgres(ql)?:\/\/\S+$/.test(text)) return { kind: "postgres", url: text };
  // the file's value passed the schema, so only a flag gets here
  throw new UsageError(`${fromFlag ? "--sink" : "sink"} expects pglite or a postgres:// URL, got "${text}"`);
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function resolveWorkload(file: ScenarioFile): ScenarioWorkload {
  const w = file.workload;
  const span = workloadSpanMs(file);
  const entities = Object.entries(w.entities).flatMap(([entity, spec]): ScenarioEntity[] => {
    if (!spec) return [];
    if (entity !== "chart_data_source") return [{ entity, rows: spec.rows }];
    return [{ entity, rows: spec.rows, entries: ("entries" in spec ? spec.entries : undefined) ?? SCENARIO_DEFAULTS.chartEntries }];
  });
  const mix = w.mix
    ? (Object.fromEntries(MIX_KINDS.map((k) => [k, w.mix![k] ?? 0])) as Record<ActionKind, number>)
    : { ...SCENARIO_DEFAULTS.mix };
  return {
    entities,
    actionsPerClient: w.actions ?? Math.round(ratePerMs(w.rate!)! * span),
    durationMs: span,
    mix,
    ...(w.hot ? { hot: { rows: w.hot.rows, share: w.hot.share } } : {}),
    drainEveryMs: w.drainEvery !== undefined ? durationMs(w.drainEvery) : SCENARIO_DEFAULTS.drainEveryMs,
  };
}

function resolveTimeline(file: ScenarioFile, selectors: ClientSelectors, endMs: number): ClientPhase[][] {
  const timeline: ClientPhase[][] = Array.from({ length: selectors.count }, () => []);
  const groupOf = new Map<number, number>();
  for (const [g, group] of (file.timeline ?? []).entries()) {
    const where = ["timeline", g, "clients"];
    for (const client of selectors.resolve(group.clients, where)) {
      const earlier = groupOf.get(client);
      if (earlier !== undefined) {
        throw scenarioError(selectors.source, { path: where, expected: `clients not already in timeline.${earlier}`, got: `client ${client} again` });
      }
      groupOf.set(client, g);
      let t = 0;
      for (const phase of group.phases) {
        const [state, ms] = "online" in phase ? (["online", durationMs(phase.online)] as const) : (["offline", durationMs(phase.offline)] as const);
        addPhase(timeline[client]!, state, t, t + ms);
        t += ms;
      }
    }
  }
  // every client is online after its phases (and throughout when no group names it)
  for (const phases of timeline) addPhase(phases, "online", phases.at(-1)?.toMs ?? 0, endMs);
  return timeline;
}

/** Appends a phase, joining it to the previous one when the state is the same. */
function addPhase(phases: ClientPhase[], state: ClientState, fromMs: number, toMs: number): void {
  if (toMs <= fromMs) return;
  const last = phases.at(-1);
  if (last && last.state === state && last.toMs === fromMs) last.toMs = toMs;
  else phases.push({ state, fromMs, toMs });
}

/** Expands selectors against the client count; one out of range is an error at its dot-path. */
class ClientSelectors {
  constructor(
    readonly source: string,
    readonly count: number,
  ) {}

  resolve(selector: ClientSelector | undefined, where: (string | number)[]): number[] {
    if (selector === undefined || selector === "all") return Array.from({ length: this.count }, (_, i) => i);
    let indexes: number[];
    if (typeof selector === "number") indexes = [selector];
    else if (Array.isArray(selector)) indexes = [...new Set(selector)].sort((a, b) => a - b);
    else {
      // the schema accepted only "N" or "N-M" here
      const [lo, hi = lo] = selector.trim().split("-").map(Number) as [number, number?];
      indexes = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
    }
    if (indexes.some((i) => i >= this.count)) {
      const expected = `client indexes from 0 to ${this.count - 1} (${this.count} clients)`;
      throw scenarioError(this.source, { path: where, expected, got: JSON.stringify(selector) });
    }
    return indexes;
  }
}

function resolveFault(f: ScenarioFault, clients: number[]): FaultSpec {
  switch (f.kind) {
    case "poison":
      return { kind: f.kind, clients, variant: f.variant, count: f.count ?? 1, atMs: f.at !== undefined ? durationMs(f.at) : 0 };
    case "duplicate-batch":
      return {
        kind: f.kind,
        clients,
        ...(f.every !== undefined ? { every: f.every } : {}),
        ...(f.chance !== undefined ? { chance: f.chance } : {}),
        ...(f.at !== undefined ? { atMs: durationMs(f.at) } : {}),
      };
    case "clock-skew":
      return { kind: f.kind, clients, skewMs: signedDurationMs(f.skew)! };
    case "old-export":
      return { kind: f.kind, clients, exportAtMs: durationMs(f.exportAt), replayAtMs: durationMs(f.replayAt) };
    case "offline":
      return { kind: f.kind, clients, atMs: durationMs(f.at), forMs: durationMs(f.for) };
    case "applied-but-errored":
    case "terminate-backends":
      return { kind: f.kind, clients, ...when(f) };
    case "network":
      return {
        kind: f.kind, clients, mode: f.mode, ...when(f),
        ...(f.for !== undefined ? { forMs: durationMs(f.for) } : {}),
        ...(f.latency !== undefined ? { latencyMs: durationMs(f.latency) } : {}),
      };
    case "restart-server":
      return { kind: f.kind, clients, atMs: durationMs(f.at) };
    case "kill-daemon":
      return { kind: f.kind, clients, everyMs: durationMs(f.every), count: f.count, restartAfterMs: f.restartAfter !== undefined ? durationMs(f.restartAfter) : 500 };
    case "statement-timeout":
      return { kind: f.kind, clients, atMs: durationMs(f.at), forMs: durationMs(f.for), timeoutMs: f.timeout !== undefined ? durationMs(f.timeout) : 1 };
  }
}

/** When a fault strikes: every Nth batch of a client, by chance per batch, or once at a virtual time. */
function when(f: { every?: number; chance?: number; at?: string | number }): FaultWhen {
  return {
    ...(f.every !== undefined ? { every: f.every } : {}),
    ...(f.chance !== undefined ? { chance: f.chance } : {}),
    ...(f.at !== undefined ? { atMs: durationMs(f.at) } : {}),
  };
}
