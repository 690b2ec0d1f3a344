/**
 * Benchmark entry: `npm run bench -- <store|sink|drain> [--quick]`. Writes the result as JSON to
 * bench/results/<name>-<timestamp>.json (and <name>-latest.json) and prints a table. Benchmarks
 * report figures and pass/fail against their targets; a missed target never makes this exit non-zero.
 */
import { BenchReport } from "./lib/report.ts";
import { renderTable } from "./lib/render-table.ts";

type Runner = (report: BenchReport, quick: boolean) => Promise<void>;

const BENCHMARKS: Record<string, { about: string; load: () => Promise<Runner> }> = {
  store: { about: "durable Dexie queue store and queue CLI (issue 2)", load: async () => (await import("./store.ts")).runStoreBench },
  sink: { about: "apply_batch vs multi-row INSERT vs COPY on PostgreSQL and PGlite (issue 3)", load: async () => (await import("./sink.ts")).runSinkBench },
  drain: { about: "queue drain into PostgreSQL next to pg-boss (issue 4)", load: async () => (await import("./drain.ts")).runDrainBench },
};

function usage(): string {
  return [
    "usage: npm run bench -- <name> [--quick]",
    ...Object.entries(BENCHMARKS).map(([n, b]) => `  ${n.padEnd(6)} ${b.about}`),
    "  --quick  smaller sizes, for a smoke run",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const quick = argv.includes("--quick");
  const rest = argv.filter((a) => a !== "--quick");
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const unknownFlag = rest.find((a) => a.startsWith("-"));
  const name = rest[0];
  if (unknownFlag || rest.length !== 1 || !name || !(name in BENCHMARKS)) {
    const what = unknownFlag ? `unknown option ${unknownFlag}` : rest.length > 1 ? `one benchmark name expected, got ${rest.join(" ")}` : `unknown benchmark "${name ?? ""}"`;
    process.stderr.write(`bench: ${what}; expected one of ${Object.keys(BENCHMARKS).join(", ")}\n${usage()}\n`);
    return 2;
  }
  const report = new BenchReport(name, quick);
  try {
    await (await BENCHMARKS[name]!.load())(report, quick);
  } catch (err) {
    // an unexpected failure still leaves a result file saying what broke
    report.unavailable("benchmark run", err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
  const file = report.write();
  process.stdout.write(`${renderTable(report.toJSON())}\n\nresult: ${file}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
