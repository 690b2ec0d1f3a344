/**
 * `mudsync bench batching` end to end, in process: a tiny bench on the embedded PGlite and one on a
 * database of the real server (created here, dropped after). The JSON is validated against the
 * shipped schema; naive, mudsync and COPY must end with the same rows, and the seed's grouping must
 * be caught reordering a row's edits. No figure is timed.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Ajv } from "ajv";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BenchBatchingResult, StrategyFigures } from "../../src/bench-batching/result.ts";
import { benchBatchingSchema } from "../../src/bench-batching/json-schema.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { runInProcess } from "../helpers/cli-in-process.ts";

const validate = new Ajv({ allErrors: true, strict: true }).compile(benchBatchingSchema());

function valid(value: unknown): BenchBatchingResult {
  if (!validate(value)) throw new Error(`not valid against schemas/bench-batching.schema.json: ${JSON.stringify(validate.errors?.slice(0, 5))}`);
  return value as BenchBatchingResult;
}

const byName = (r: BenchBatchingResult, name: string): StrategyFigures => r.strategies.find((s) => s.name === name)!;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "mudsync-bench-batching-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("bench batching on the embedded PGlite", () => {
  let result: BenchBatchingResult;
  let stdout: string;
  let html: string;

  beforeAll(async () => {
    const json = path.join(dir, "pglite.json");
    const report = path.join(dir, "report.html");
    const r = await runInProcess(["bench", "batching", "--json", json, "--events", "150", "--clients", "2", "--batch-sizes", "50,1", "--repeat", "1", "--report", report]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    stdout = r.stdout;
    result = valid(JSON.parse(readFileSync(json, "utf8")));
    html = readFileSync(report, "utf8");
  }, 300_000);

  it("writes a result that matches its schema, with every strategy and batch size", () => {
    expect(result.database.kind).toBe("pglite");
    expect(result.workload).toMatchObject({ name: "selection", events: 150, clients: 2 });
    expect(result.strategies.map((s) => s.name)).toEqual(["naive", "seed", "mudsync", "mudsync-nocoalesce", "copy"]);
    expect(result.batchSizes.map((b) => b.batchSize)).toEqual([1, 50]);
    expect(result.headlineBatchSize).toBe(50);
  });

  it("naive, mudsync (with and without coalescing) and COPY end with the same rows", () => {
    for (const name of ["naive", "mudsync", "mudsync-nocoalesce", "copy"]) {
      expect(byName(result, name), name).toMatchObject({ correct: true, firstDifference: null, unexpectedOutcomes: 0 });
    }
    for (const b of result.batchSizes) for (const s of b.strategies.filter((x) => x.name !== "seed")) expect(s.correct, `${s.name} at ${b.batchSize}`).toBe(true);
  });

  it("flags the seed's grouping by entity:type as wrong, naming the first row that differs", () => {
    const seed = byName(result, "seed");
    expect(seed.correct).toBe(false);
    expect(seed.firstDifference).toMatchObject({ entity: "chart_data_source" });
    expect(seed.firstDifference!.id).toMatch(/^chart-c\d-\d$/);
    expect(seed.firstDifference!.expected).not.toEqual(seed.firstDifference!.actual);
    expect(stdout).toMatch(/seed ends with rows different from naive's: first chart_data_source chart-c\d-\d/);
  });

  it("counts one round trip and one transaction per action for naive, far fewer for batches", () => {
    const naive = byName(result, "naive");
    expect(naive).toMatchObject({ roundTripsPer1000: 1000, transactionsPer1000: 1000, roundTripReduction: null });
    const mudsync = byName(result, "mudsync");
    // 150 actions in batches of at most 50: at least 3 round trips, each one transaction
    expect(mudsync.roundTripsPer1000).toBeGreaterThanOrEqual((3 * 1000) / 150);
    expect(mudsync.roundTripsPer1000).toBeLessThan(naive.roundTripsPer1000 / 5);
    expect(mudsync.transactionsPer1000).toBe(mudsync.roundTripsPer1000);
    expect(mudsync.roundTripReduction).toBeCloseTo(1 - mudsync.roundTripsPer1000 / 1000, 10);
    // batch size 1 sends every action (coalescing folds nothing into a batch of one)
    const atOne = result.batchSizes[0]!.strategies.find((s) => s.name === "mudsync-nocoalesce")!;
    expect(atOne.roundTripsPer1000).toBe(1000);
    // COPY: one statement per entity table with rows (the selection workload has only charts)
    expect(byName(result, "copy").roundTripsPer1000).toBeCloseTo(1000 / 150, 10);
  });

  it("reports latency for every strategy but COPY, and CPU and memory for all", () => {
    for (const s of result.strategies) {
      if (s.name === "copy") expect(s.latencyMs).toEqual({ p50: null, p95: null, p99: null });
      else expect(s.latencyMs.p50! <= s.latencyMs.p95! && s.latencyMs.p95! <= s.latencyMs.p99!, s.name).toBe(true);
      expect(s.peakRssMb).toBeGreaterThan(0);
      expect(s.eventsPerSecondRuns).toHaveLength(1);
    }
  });

  it("prints the table and the throughput chart, and writes a self-contained HTML report with three charts", () => {
    expect(stdout).toMatch(/strategy\s+batch\s+trips\/1k/);
    expect(stdout).toContain("events/s against batch size");
    expect(stdout).toMatch(/batch 50 {2}seed/);
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain("Throughput against batch size");
    expect(html).toContain("<b>WRONG</b>");
  });
});

describe("bench batching flags", () => {
  it("refuses a file without --json, and bad batch sizes, before running anything", async () => {
    const alone = await runInProcess(["bench", "batching", "out.json"]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/takes a file only after --json/);
    const bad = await runInProcess(["bench", "batching", "--batch-sizes", "10,0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--batch-sizes expects comma-separated integers/);
    const unwritable = await runInProcess(["bench", "batching", "--report", "/nonexistent-dir/r.html"]);
    expect(unwritable.code).toBe(2);
    expect(unwritable.stderr).toMatch(/--report \/nonexistent-dir\/r.html: cannot write there/);
  });
});

describe.runIf(await realPgAvailable())("bench batching on the real server", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase("mudsync_bench_batching");
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("--json prints a valid result on stdout with progress on stderr, and leaves no schema behind", async () => {
    const r = await runInProcess(["--db", database.url, "bench", "batching", "--json", "--workload", "mixed", "--events", "240", "--clients", "3", "--batch-sizes", "10,100", "--repeat", "2"]);
    expect(r.code).toBe(0);
    const result = valid(JSON.parse(r.stdout));
    expect(result.database).toMatchObject({ kind: "postgres" });
    expect(result.database.label).toContain(database.name);
    for (const name of ["naive", "mudsync", "mudsync-nocoalesce", "copy"]) expect(byName(result, name).correct, name).toBe(true);
    expect(byName(result, "seed").correct).toBe(false);
    // two repeats: every figure is a median of two runs
    for (const s of result.strategies) expect(s.eventsPerSecondRuns).toHaveLength(2);
    const progress = r.stderr.trim().split("\n").map((l) => JSON.parse(l) as { progress: boolean; phase: string; done: number; total: number; unit: string; final: boolean });
    // 16 runs (naive, copy, 3 batched strategies × 2 sizes; twice) of 240 actions, counted as they apply
    expect(progress.at(-1)).toMatchObject({ progress: true, phase: "bench batching", done: 3840, total: 3840, unit: "actions", final: true });
    expect(progress.map((p) => p.done)).toEqual(progress.map((p) => p.done).sort((a, b) => a - b));
    expect(progress.some((p) => /^bench batching: naive \(repeat [12]\/2\)$/.test(p.phase))).toBe(true);

    const c = new pg.Client({ connectionString: database.url });
    await c.connect();
    try {
      const { rows } = await c.query("select nspname from pg_namespace where nspname like 'mudsync_bench_%'");
      expect(rows).toEqual([]);
    } finally {
      await c.end();
    }
  }, 300_000);
});
