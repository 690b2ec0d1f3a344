/**
 * `mudsync sim run`: loads each scenario (a file, or a shipped scenario by name), applies the
 * flags over it, runs it with progress, and returns every run's result and verdict.
 */
import { closeSync, existsSync, openSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { loadScenario } from "../../sim/scenario/load-scenario.ts";
import { resolveScenario, type Scenario } from "../../sim/scenario/resolve-scenario.ts";
import { SHIPPED_SCENARIOS_DIR } from "../../sim/scenario/list-scenarios.ts";
import { checkSinkForFaults, runScenario, type RunResult } from "../../sim/runner/run-scenario.ts";
import { formatDuration } from "../../core/format-duration.ts";
import { ExitCode, UsageError } from "../../errors.ts";
import type { CommandContext } from "../shared/context.ts";
import { createProgress, type Progress } from "../shared/progress.ts";
import { renderVerdict } from "./render-verdict.ts";

export interface SimRunOptions {
  seed?: number;
  clients?: number;
  sink?: string;
  history?: string;
  keep?: boolean;
}

export interface SimRunResult {
  pass: boolean;
  runs: (RunResult & { history?: string })[];
  /** scenarios of a folder that cannot run on this sink (a named scenario that cannot is an error) */
  skipped: { scenario: string; reason: string }[];
}

const SCENARIO_FILE = /\.(ya?ml|json)$/i;

/** The scenario files an argument names: a file, a folder of them, or a shipped scenario or folder by name. */
export function scenarioPaths(arg: string, cwd: string): { files: string[]; folder: boolean } {
  const folder = [path.resolve(cwd, arg), path.join(SHIPPED_SCENARIOS_DIR, arg)].find((d) => existsSync(d) && statSync(d).isDirectory());
  if (folder) {
    const files = readdirSync(folder).filter((f) => SCENARIO_FILE.test(f)).sort().map((f) => path.join(folder, f));
    if (files.length === 0) throw new UsageError(`scenario folder ${arg}: no .yaml, .yml or .json files in it`);
    return { files, folder: true };
  }
  return { files: [scenarioPath(arg, cwd)], folder: false };
}

/** A file path as given, or the name of a shipped scenario. */
export function scenarioPath(arg: string, cwd: string): string {
  const direct = path.resolve(cwd, arg);
  if (existsSync(direct)) return direct;
  // a shipped scenario by name: `selection-race`, or `chaos/network-flap` in a folder of them
  if (/^[a-z0-9-]+(\/[a-z0-9-]+)?$/.test(arg)) {
    for (const ext of [".yaml", ".yml", ".json"]) {
      const shipped = path.join(SHIPPED_SCENARIOS_DIR, `${arg}${ext}`);
      if (existsSync(shipped)) return shipped;
    }
  }
  throw new UsageError(`scenario ${arg}: no such file, and no shipped scenario of that name (see \`mudsync sim ls\`)`);
}

function historyFor(file: string | undefined, name: string, several: boolean, cwd: string): string | undefined {
  if (!file) return undefined;
  const full = path.resolve(cwd, file);
  if (!several) return full;
  const ext = path.extname(full);
  return `${full.slice(0, full.length - ext.length)}.${name}${ext || ".ndjson"}`;
}

export async function simRun(args: string[], opts: SimRunOptions, ctx: CommandContext): Promise<SimRunResult> {
  // every file is checked before the first run starts: a typo in the last one should not wait
  const scenarios = [];
  const skipped: SimRunResult["skipped"] = [];
  for (const arg of args) {
    const { files, folder } = scenarioPaths(arg, ctx.cwd);
    for (const file of files) {
      const overrides = { ...(opts.seed !== undefined ? { seed: opts.seed } : {}), ...(opts.clients !== undefined ? { clients: opts.clients } : {}), ...(opts.sink ? { sink: opts.sink } : {}) };
      const scenario = resolveScenario(await loadScenario(file), overrides, path.relative(ctx.cwd, file) || file);
      try {
        checkSinkForFaults(scenario);
      } catch (err) {
        // a folder runs what it can on this sink and says what it left; a scenario named alone must run
        if (!(err instanceof UsageError) || !folder) throw err;
        skipped.push({ scenario: scenario.name, reason: err.message.replace(`${scenario.name}: `, "") });
        continue;
      }
      scenarios.push(scenario);
    }
  }
  if (scenarios.length === 0 && skipped.length > 0) {
    throw new UsageError(`nothing to run on this sink: ${skipped.map((k) => `${k.scenario} (${k.reason})`).join("; ")}`);
  }
  for (const s of scenarios) {
    const history = historyFor(opts.history, s.name, scenarios.length > 1, ctx.cwd);
    if (history) writable(history);
  }
  const runs: SimRunResult["runs"] = [];
  const progress = createProgress(ctx);
  // a signal stops the run at its next task; it then removes its stores and schema (a second one exits at once)
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(ExitCode.Interrupted);
    process.stderr.write("mudsync: stopping the run and removing what it made (signal again to force)\n");
    stop.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    for (const s of scenarios) runs.push(await runOne(s, opts, ctx, progress, stop.signal, scenarios.length > 1));
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  return { pass: runs.every((r) => r.verdict.pass), runs, skipped };
}

/** One scenario's run with its progress line. */
async function runOne(s: Scenario, opts: SimRunOptions, ctx: CommandContext, progress: Progress, signal: AbortSignal, several: boolean): Promise<SimRunResult["runs"][number]> {
  const history = historyFor(opts.history, s.name, several, ctx.cwd);
  let last = { done: 0, total: s.clients.count * s.workload.actionsPerClient };
  progress.update({ phase: `${s.name}: opening ${s.sink.kind === "pglite" ? "the embedded PGlite" : "the server"} and ${s.clients.count} client stores`, ...last, unit: "actions" });
  const result = await runScenario(s, {
    ...(history ? { historyFile: history } : {}),
    keep: opts.keep === true,
    signal,
    onProgress: (p) => {
      last = { done: p.actions, total: p.totalActions };
      const phase = p.stage === "run" ? `${s.name} ${formatDuration(p.vt)}/${formatDuration(p.endVt)} virtual` : `${s.name} ${p.stage === "settle" ? "draining the last events" : "checking"}`;
      progress.update({ phase, done: p.actions, total: p.totalActions, unit: "actions" });
    },
  });
  progress.finish({ phase: `${s.name} ${result.verdict.pass ? "passed" : "FAILED"}`, done: last.done, total: last.total, unit: "actions" });
  return { ...result, ...(history ? { history } : {}) };
}

/** Fails before any run when the history file cannot be written (a missing folder, no permission). */
function writable(file: string): void {
  try {
    closeSync(openSync(file, "a"));
  } catch (err) {
    throw new UsageError(`--history ${file}: cannot write it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

export function renderSimRun(r: SimRunResult): string {
  const blocks = r.runs.map((run) => {
    const faults = Object.entries(run.faults).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
    const lat = run.latencyMs;
    const lines = [
      `scenario ${run.scenario} (seed ${run.seed}, ${run.clients} clients, ${run.sink})`,
      `  events: ${run.events.acked} acknowledged, ${run.events.refused} refused at the door, ` +
        `${run.daemons ? `drained by ${run.daemons.count} daemon(s) on a shared queue` : `${run.events.batches} batches`}; faults: ${faults}`,
      `  outcomes: ${Object.entries(run.verdict.stats.settled).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ")}`,
      `  time: ${formatDuration(run.virtualMs)} virtual in ${formatDuration(run.wallMs)} wall; ${run.eventsPerWallSec} events/s wall`,
      `  enqueue → applied: p50 ${ms(lat.virtual.p50)} / p99 ${ms(lat.virtual.p99)} virtual, p50 ${ms(lat.wall.p50)} / p99 ${ms(lat.wall.p99)} wall; peak RSS ${run.peakRssMb} MB`,
      renderVerdict(run.verdict, "  "),
      `  verdict: ${run.verdict.pass ? "PASS" : "FAIL"}${run.asExpected ? "" : ` (the scenario expects ${run.expected})`}`,
    ];
    if (run.lateFeed > 0) lines.push(`  note: the change feed was late ${run.lateFeed} time(s) (over 5 s of wall time)`);
    if (run.history) lines.push(`  history: ${run.history} (check it again with \`mudsync sim check ${run.history}\`)`);
    if (run.kept) {
      const k = run.kept;
      const rows = k.sink === "pglite" ? `mudsync --store ${k.runDir} conflicts ls` : `MUDSYNC_SCHEMA=${k.schema} mudsync --db <url> conflicts ls`;
      lines.push(`  kept: client stores in ${k.runDir}/clients (\`mudsync --store ${k.runDir}/clients/c01 queue ls\`); rows: ${k.where} (\`${rows}\`)`);
    }
    return lines.join("\n");
  });
  for (const k of r.skipped) blocks.push(`skipped ${k.scenario}: ${k.reason}`);
  if (r.runs.length > 1) blocks.push(`${r.runs.filter((x) => x.verdict.pass).length} of ${r.runs.length} scenarios passed`);
  return blocks.join("\n\n");
}

function ms(v: number | null): string {
  return v === null ? "–" : formatDuration(v);
}
