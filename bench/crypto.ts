/**
 * `npm run bench -- crypto`: what encryption at rest costs. The same 100k-event export is imported
 * (`mudsync queue import`), listed (`mudsync queue ls`) and drained into PostgreSQL (`mudsync
 * queue drain`, a fresh database each time) by the real CLI, once without a key and once with
 * MUDSYNC_KEY set (a new store with a key is created encrypted). Each rep runs both, alternating
 * which goes first; a ratio is the median of the reps' paired ratios (keyed ÷ plain wall time).
 * Target: every ratio ≤ 1.3.
 */
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import path from "node:path";
import { createTestDatabase } from "../tests/helpers/pg.ts";
import { writeDexieExport } from "./lib/dexie-export-file.ts";
import type { BenchReport } from "./lib/report.ts";
import { firstErrorLine, type MeasuredRun, runCli } from "./lib/run-measured.ts";
import { medianOf, round, sizeLabel as k } from "./lib/stats.ts";
import { withTempDir } from "./lib/temp-dir.ts";

type Mode = "plain" | "keyed";
const OPS = ["import", "ls", "drain"] as const;
type Op = (typeof OPS)[number];

function envFor(mode: Mode, key: string): NodeJS.ProcessEnv {
  const { MUDSYNC_KEY: _k, MUDSYNC_KEY_FILE: _f, ...env } = process.env;
  return mode === "keyed" ? { ...env, MUDSYNC_KEY: key } : env;
}

function must(run: MeasuredRun, what: string, codes: number[] = [0]): number {
  if (run.code === null || !codes.includes(run.code)) throw new Error(`${what} failed (${firstErrorLine(run)})`);
  return run.wallMs;
}

/** import, ls and drain of one store in one mode; wall times in ms. */
async function oneRun(dir: string, file: string, mode: Mode, key: string): Promise<Record<Op, number>> {
  const env = envFor(mode, key);
  const store = path.join(dir, `store-${mode}`);
  try {
    const imported = must(await runCli(["queue", "import", file, "--store", store, "--json"], { env }), `${mode} queue import`);
    const listed = must(await runCli(["queue", "ls", "--store", store], { env }), `${mode} queue ls`);
    const database = await createTestDatabase("mudsync_bench_crypto");
    try {
      must(await runCli(["--db", database.url, "db", "migrate"], { env }), "db migrate");
      const drain = await runCli(["--store", store, "--db", database.url, "--json", "queue", "drain", "--batch-size", "1000"], { env });
      // exit 3: the export holds events that end dead (as a stuck browser queue does)
      const drained = must(drain, `${mode} queue drain`, [0, 3]);
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
    const runs: Record<Mode, Record<Op, number>[]> = { plain: [], keyed: [] };
    for (let rep = 0; rep < reps; rep++) {
      const order: Mode[] = rep % 2 === 0 ? ["plain", "keyed"] : ["keyed", "plain"];
      for (const mode of order) runs[mode].push(await oneRun(dir, file, mode, key));
    }
    const labels: Record<Op, string> = {
      import: `queue import of a ${k(events)}-event export`,
      ls: `queue ls on a ${k(events)}-event store`,
      drain: `queue drain of ${k(events)} events into PostgreSQL, batch 1000`,
    };
    for (const op of OPS) {
      const plain = medianOf(runs.plain.map((r) => r[op]));
      const keyed = medianOf(runs.keyed.map((r) => r[op]));
      const ratio = medianOf(runs.plain.map((r, i) => runs.keyed[i]![op] / r[op]));
      report.add({
        id: `crypto.${op}.ratio`,
        label: `${labels[op]}: with a key ÷ without (CLI end to end)`,
        value: ratio === null ? null : round(ratio, 3),
        unit: "×",
        target: { op: "<=", value: 1.3 },
        baselines: [{ label: "without a key", value: plain === null ? null : Math.round(plain), unit: "ms" }],
        note: `with a key ${keyed === null ? "?" : Math.round(keyed)} ms; reps (keyed/plain ms): ${runs.plain.map((r, i) => `${Math.round(runs.keyed[i]![op])}/${Math.round(r[op])}`).join(", ")}`,
      });
    }
  });
}
