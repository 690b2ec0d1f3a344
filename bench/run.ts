/**
 * Benchmark entry: `npm run bench -- <store|sink|drain> [--quick]`. Writes the result as JSON to
 * bench/results/<name>-<timestamp>.json (and <name>-latest.json) and prints a table. Benchmarks
 * report figures and pass/fail against their targets; a missed target never makes this exit non-zero.
 */
import { BenchReport, previousFigureCount } from "./lib/report.ts";
import { renderTable } from "./lib/render-table.ts";
import { createProgress } from "../src/commands/shared/progress.ts";

/** `only`: run just the named part of a benchmark (each benchmark lists its parts; others ignore it) */
type Runner = (report: BenchReport, quick: boolean, only?: string) => Promise<void>;

const BENCHMARKS: Record<string, { about: string; load: () => Promise<Runner> }> = {
  store: { about: "durable Dexie queue store and queue CLI", load: async () => (await import("./store.ts")).runStoreBench },
  sink: { about: "apply_batch vs multi-row INSERT vs COPY on PostgreSQL and PGlite", load: async () => (await import("./sink.ts")).runSinkBench },
  drain: { about: "queue drain into PostgreSQL next to pg-boss", load: async () => (await import("./drain.ts")).runDrainBench },
  sim: { about: "simulation: 50 clients offline for 2 h, and memory per simulated client", load: async () => (await import("./sim.ts")).runSimBench },
  top: { about: "mudsync top's refresh with 100k events: a store read directly, a daemon while it drains", load: async () => (await import("./top.ts")).runTopBench },
  doctor: { about: "mudsync doctor on a 100k-event export and store; memory at 200k", load: async () => (await import("./doctor.ts")).runDoctorBench },
  crypto: { about: "encryption at rest: import, ls and drain of 100k events with a key ÷ without", load: async () => (await import("./crypto.ts")).runCryptoBench },
};

function usage(): string {
  return [
    "usage: npm run bench -- <name> [--quick] [--json]",
    ...Object.entries(BENCHMARKS).map(([n, b]) => `  ${n.padEnd(6)} ${b.about}`),
    "  --quick  smaller sizes, for a smoke run",
    "  --json   print the result as JSON instead of the table (progress as NDJSON on stderr)",
    "  --only <part>  just one part of a benchmark (drain: dexie, daemons, or limit, which only runs when named; sim: offline, clients; store, comma-separated: help, raw, api|mark, cli|import)",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const quick = argv.includes("--quick");
  const json = argv.includes("--json");
  const onlyAt = argv.indexOf("--only");
  const only = onlyAt >= 0 ? argv[onlyAt + 1] : undefined;
  if (onlyAt >= 0 && (only === undefined || only.startsWith("-"))) {
    process.stderr.write(`bench: --only needs a part name\n${usage()}\n`);
    return 2;
  }
  const rest = argv.filter((a, i) => a !== "--quick" && a !== "--json" && (onlyAt < 0 || (i !== onlyAt && i !== onlyAt + 1)));
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
  // progress counts figures; the last run's count (when its result file is here) gives the bar a total and an ETA
  const progress = createProgress({ json, tty: Boolean(process.stdout.isTTY) });
  const expected = previousFigureCount(name, quick);
  const step = (label: string) => ({ phase: `bench ${name}: ${label}`, done: report.figures.length, ...(expected ? { total: Math.max(expected, report.figures.length) } : {}), unit: "figures" });
  report.onFigure = (f) => progress.update(step(f.label));
  progress.update(step("starting")); // the rate and ETA count from here
  try {
    await (await BENCHMARKS[name]!.load())(report, quick, only);
  } catch (err) {
    // an unexpected failure still leaves a result file saying what broke
    report.unavailable("benchmark run", err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
  progress.finish({ ...step("done"), total: report.figures.length });
  const file = report.write();
  if (json) process.stdout.write(`${JSON.stringify({ ...report.toJSON(), file })}\n`);
  else process.stdout.write(`${renderTable(report.toJSON())}\n\nresult: ${file}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
