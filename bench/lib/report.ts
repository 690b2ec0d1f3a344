/**
 * The result of one benchmark run: machine, parameters, every figure with its raw baseline and
 * target, and pass/fail against the target. Written as JSON to bench/results/ (plus a
 * `<name>-latest.json` copy) and rendered as a table for people. Benchmarks report; they never fail.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { machineInfo, type MachineInfo } from "./machine.ts";
import { round } from "./stats.ts";

export const RESULTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../results");

export interface Target {
  op: ">=" | "<=";
  value: number;
}

export interface Baseline {
  label: string;
  value: number | null;
  unit: string;
}

export interface Figure {
  /** stable key for scripts, e.g. `enqueue.concurrent.eventsPerSec` */
  id: string;
  label: string;
  /** null when it could not be measured (see note) */
  value: number | null;
  unit: string;
  /** raw baselines measured in the same run, shown next to the value */
  baselines?: Baseline[];
  target?: Target;
  /** true/false against the target; null when there is a target but no value */
  pass?: boolean | null;
  note?: string;
}

export interface BenchResult {
  benchmark: string;
  quick: boolean;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  params: Record<string, unknown>;
  figures: Figure[];
  unavailable: { part: string; reason: string }[];
  notes: string[];
  summary: { targets: number; passed: number; failed: number; notMeasured: number; unavailableParts: number };
}

function meets(value: number, target: Target): boolean {
  return target.op === ">=" ? value >= target.value : value <= target.value;
}

export class BenchReport {
  readonly figures: Figure[] = [];
  readonly unavailableParts: { part: string; reason: string }[] = [];
  readonly notes: string[] = [];
  readonly params: Record<string, unknown> = {};
  readonly machine: MachineInfo = machineInfo();
  private readonly startedAt = new Date();
  /** called after each figure is recorded (progress) */
  onFigure: ((figure: Figure) => void) | undefined;

  constructor(
    readonly benchmark: string,
    readonly quick: boolean,
  ) {}

  /** Records a figure; values are rounded, pass/fail is computed from the target. */
  add(figure: Omit<Figure, "pass">): Figure {
    const value = figure.value === null || !Number.isFinite(figure.value) ? null : round(figure.value);
    const baselines = figure.baselines?.map((b) => ({ ...b, value: b.value === null || !Number.isFinite(b.value) ? null : round(b.value) }));
    const f: Figure = { ...figure, value, ...(baselines ? { baselines } : {}) };
    if (figure.target) f.pass = value === null ? null : meets(value, figure.target);
    this.figures.push(f);
    this.onFigure?.(f);
    return f;
  }

  /** A part that could not run: it is listed with its reason instead of numbers. */
  unavailable(part: string, reason: string): void {
    this.unavailableParts.push({ part, reason });
    process.stderr.write(`bench ${this.benchmark}: ${part}: not available: ${reason}\n`);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  toJSON(): BenchResult {
    const withTarget = this.figures.filter((f) => f.target);
    return {
      benchmark: this.benchmark,
      quick: this.quick,
      startedAt: this.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: this.machine,
      params: this.params,
      figures: this.figures,
      unavailable: this.unavailableParts,
      notes: this.notes,
      summary: {
        targets: withTarget.length,
        passed: withTarget.filter((f) => f.pass === true).length,
        failed: withTarget.filter((f) => f.pass === false).length,
        notMeasured: withTarget.filter((f) => f.pass === null).length,
        unavailableParts: this.unavailableParts.length,
      },
    };
  }

  /** Writes `<name>-<timestamp>.json` and `<name>-latest.json`; returns the first path. */
  write(dir = RESULTS_DIR): string {
    mkdirSync(dir, { recursive: true });
    const json = this.toJSON();
    const stamp = json.startedAt.replace(/[:.]/g, "-");
    const file = path.join(dir, `${this.benchmark}${this.quick ? "-quick" : ""}-${stamp}.json`);
    writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
    copyFileSync(file, path.join(dir, `${this.benchmark}${this.quick ? "-quick" : ""}-latest.json`));
    return file;
  }
}

/** How many figures the last run of this benchmark recorded (its `-latest.json`), if there is one. */
export function previousFigureCount(benchmark: string, quick: boolean, dir = RESULTS_DIR): number | undefined {
  try {
    const last = JSON.parse(readFileSync(path.join(dir, `${benchmark}${quick ? "-quick" : ""}-latest.json`), "utf8")) as Partial<BenchResult>;
    return Array.isArray(last.figures) && last.figures.length > 0 ? last.figures.length : undefined;
  } catch {
    return undefined;
  }
}
