/**
 * `npm run bench -- crypto`: what encryption at rest costs. The same 100k-event export is imported
 * (`mudsync queue import`), listed (`mudsync queue ls`) and drained into PostgreSQL (`mudsync
 * queue drain`, a fresh database each time) by the real CLI, once without a key and once with
 * MUDSYNC_KEY set (a new store with a key is created encrypted). Each rep runs both, alternating
 * which goes first; a ratio is the median of the reps' paired ratios (keyed ÷ plain wall time).
 * Target: every ratio ≤ 1.3. The same ratios of CPU time (user + system, from GNU time) are
 * reported beside them: on a machine shared with other work they move much less than wall time.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { createTestDatabase } from "../tests/helpers/pg.ts";
import { writeDexieExport } from "./lib/dexie-export-file.ts";
import type { BenchReport } from "./lib/report.ts";
import { firstErrorLine, type MeasuredRun, REPO_ROOT, runCli, runMeasured } from "./lib/run-measured.ts";
import { medianOf, round, sizeLabel as k } from "./lib/stats.ts";
import { withTempDir } from "./lib/temp-dir.ts";

type Mode = "plain" | "keyed";
const OPS = ["import", "ls", "drain"] as const;
type Op = (typeof OPS)[number];

function envFor(mode: Mode, key: string): NodeJS.ProcessEnv {
  const { MUDSYNC_KEY: _k, MUDSYNC_KEY_FILE: _f, ...env } = process.env;
  return mode === "keyed" ? { ...env, MUDSYNC_KEY: key } : env;
}

const GNU_TIME = "/usr/bin/time";

interface Timed {
  wallMs: number;
  /** user + system CPU of the CLI process; null without GNU time */
  cpuMs: number | null;
}

/** The CLI as a child, with its CPU time when GNU time is installed. */
async function timedCli(dir: string, args: string[], env: NodeJS.ProcessEnv, what: string, codes: number[] = [0]): Promise<Timed> {
  const cli = [path.join(REPO_ROOT, "bin/mudsync.js"), ...args];
  if (!existsSync(GNU_TIME)) return { wallMs: must(await runCli(args, { env }), what, codes), cpuMs: null };
  const cpuFile = path.join(dir, "cpu.txt");
  const run = await runMeasured(GNU_TIME, ["-f", "%U %S", "-o", cpuFile, process.execPath, ...cli], { env });
  const wallMs = must(run, what, codes);
  const [user, sys] = (await readFile(cpuFile, "utf8")).trim().split(/\s+/).slice(-2).map(Number);
  return { wallMs, cpuMs: Number.isFinite(user) && Number.isFinite(sys) ? (user! + sys!) * 1000 : null };
}

function must(run: MeasuredRun, what: string, codes: number[] = [0]): number {
  if (run.code === null || !codes.includes(run.code)) throw new Error(`${what} failed (${firstErrorLine(run)})`);
  return run.wallMs;
}

/** import, ls and drain of one store in one mode. */
async function oneRun(dir: string, file: string, mode: Mode, key: string): Promise<Record<Op, Timed>> {
  const env = envFor(mode, key);
  const store = path.join(dir, `store-${mode}`);
  try {
    const imported = await timedCli(dir, ["queue", "import", file, "--store", store, "--json"], env, `${mode} queue import`);
    const listed = await timedCli(dir, ["queue", "ls", "--store", store], env, `${mode} queue ls`);
    const database = await createTestDatabase("mudsync_bench_crypto");
    try {
      must(await runCli(["--db", database.url, "db", "migrate"], { env }), "db migrate");
      // exit 3: the export holds events that end dead (as a stuck browser queue does)
      const drained = await timedCli(dir, ["--store", store, "--db", database.url, "--json", "queue", "drain", "--batch-size", "1000"], env, `${mode} queue drain`, [0, 3]);
      return { import: imported, ls: listed, drain: drained };
    } finally {
      await database.drop();
    }
  } finally {
    await rm(store, { recursive: true, force: true });
  }
}

export async function runCryptoBench(report: BenchReport, quick: boolean): Promise<void> {
  const events = quick ? 10_000 : 100_000;
  const reps = quick ? 1 : 3;
  report.params.events = events;
  report.params.reps = reps;
  const key = randomBytes(32).toString("hex");
  await withTempDir("crypto", async (dir) => {
    const file = path.join(dir, "export.json");
    await writeDexieExport(file, events, 7);
    const runs: Record<Mode, Record<Op, Timed>[]> = { plain: [], keyed: [] };
    for (let rep = 0; rep < reps; rep++) {
      const order: Mode[] = rep % 2 === 0 ? ["plain", "keyed"] : ["keyed", "plain"];
      for (const mode of order) runs[mode].push(await oneRun(dir, file, mode, key));
    }
    const labels: Record<Op, string> = {
      import: `queue import of a ${k(events)}-event export`,
      ls: `queue ls on a ${k(events)}-event store`,
      drain: `queue drain of ${k(events)} events into PostgreSQL, batch 1000`,
    };
    const ratioOf = (op: Op, m: keyof Timed) => medianOf(runs.plain.map((r, i) => {
      const p = r[op][m];
      const q = runs.keyed[i]![op][m];
      return p && q ? q / p : null;
    }));
    for (const op of OPS) {
      const plain = medianOf(runs.plain.map((r) => r[op].wallMs));
      const keyed = medianOf(runs.keyed.map((r) => r[op].wallMs));
      const ratio = ratioOf(op, "wallMs");
      report.add({
        id: `crypto.${op}.ratio`,
        label: `${labels[op]}: with a key ÷ without (CLI end to end, wall time)`,
        value: ratio === null ? null : round(ratio, 3),
        unit: "×",
        target: { op: "<=", value: 1.3 },
        baselines: [{ label: "without a key", value: plain === null ? null : Math.round(plain), unit: "ms" }],
        note: `with a key ${keyed === null ? "?" : Math.round(keyed)} ms; reps (keyed/plain ms): ${runs.plain.map((r, i) => `${Math.round(runs.keyed[i]![op].wallMs)}/${Math.round(r[op].wallMs)}`).join(", ")}`,
      });
      const cpu = ratioOf(op, "cpuMs");
      const cpuPlain = medianOf(runs.plain.map((r) => r[op].cpuMs));
      report.add({
        id: `crypto.${op}.cpuRatio`,
        label: `${labels[op]}: CPU time with a key ÷ without`,
        value: cpu === null ? null : round(cpu, 3),
        unit: "×",
        baselines: [{ label: "CPU without a key", value: cpuPlain === null ? null : Math.round(cpuPlain), unit: "ms" }],
        note: `reps (keyed/plain CPU ms): ${runs.plain.map((r, i) => `${Math.round(runs.keyed[i]![op].cpuMs ?? NaN)}/${Math.round(r[op].cpuMs ?? NaN)}`).join(", ")}`,
      });
    }
  });
}
