/**
 * `npm run bench -- store`: the durable Dexie queue store and the queue CLI, every figure
 * next to plain Dexie on in-memory fake-indexeddb measured in the same run.
 */
import path from "node:path";
import type { RawDexieParams, RawDexieResult } from "./tasks/raw-dexie.ts";
import type { StoreApiParams, StoreApiResult } from "./tasks/store-api.ts";
import type { OpenStoreParams, OpenStoreResult } from "./tasks/open-store.ts";
import { cliCommandAvailable } from "./lib/cli-availability.ts";
import { locateExport } from "./lib/find-export.ts";
import type { BenchReport } from "./lib/report.ts";
import { firstErrorLine, runCli, runMeasured, type MeasuredRun } from "./lib/run-measured.ts";
import { runTask } from "./lib/run-task.ts";
import { median, sizeLabel as k } from "./lib/stats.ts";
import { withTempDir } from "./lib/temp-dir.ts";
import { importAndList } from "./store-cli.ts";

export interface StoreBenchParams {
  coldStartRuns: number;
  raw: RawDexieParams;
  api: Omit<StoreApiParams, "module" | "dir">;
  /** export sizes: small, medium (the 100k figure), double (memory flatness), large (the 1M figure) */
  sizes: { small: number; medium: number; double: number; large: number };
}

export function storeParams(quick: boolean): StoreBenchParams {
  return quick
    ? {
        coldStartRuns: 5,
        raw: { size: 10_000, adds: 1000, callers: 50, modifySize: 5000 },
        api: { enqueues: 1000, callers: 50, size: 10_000, markRounds: 3 },
        sizes: { small: 2000, medium: 10_000, double: 20_000, large: 50_000 },
      }
    : {
        coldStartRuns: 10,
        raw: { size: 100_000, adds: 5000, callers: 50, modifySize: 100_000 },
        api: { enqueues: 5000, callers: 50, size: 100_000, markRounds: 5 },
        sizes: { small: 10_000, medium: 100_000, double: 200_000, large: 1_000_000 },
      };
}

async function coldStart(report: BenchReport, runs: number): Promise<void> {
  const help: number[] = [];
  const bare: number[] = [];
  let failed: MeasuredRun | undefined;
  for (let i = 0; i < runs; i++) {
    const r = await runCli(["--help"]);
    if (r.code !== 0) failed = r;
    help.push(r.wallMs);
    bare.push((await runMeasured(process.execPath, ["-e", ""])).wallMs);
  }
  report.add({
    id: "cli.help.coldStartMs",
    label: `mudsync --help cold start (median of ${runs})`,
    value: failed ? null : median(help),
    unit: "ms",
    baselines: [{ label: "node -e '' (bare Node start)", value: median(bare), unit: "ms" }],
    target: { op: "<=", value: 300 },
    ...(failed ? { note: `--help failed: ${firstErrorLine(failed)}` } : {}),
  });
}

export type RawBaselines = ReturnType<typeof rawBaselines>;

/** The raw-Dexie numbers as baselines to print next to the store's figures. */
function rawBaselines(raw: RawDexieResult | undefined, rawSize: number, rawPeakRssMb: number | null) {
  const b = (label: string, value: number | null | undefined, unit: string) => ({ label: `raw Dexie: ${label}`, value: value ?? null, unit });
  return {
    add: b("awaited add", raw?.addPerSec, "events/s"),
    addConc: b("add, 50 concurrent callers", raw?.concurrentAddPerSec, "events/s"),
    addP50: b("awaited add p50", raw?.addP50Ms, "ms"),
    addP99: b("awaited add p99", raw?.addP99Ms, "ms"),
    bulkAddRate: b(`bulkAdd of ${k(rawSize)}`, raw?.bulkAddPerSec, "events/s"),
    bulkAddMs: b(`bulkAdd of ${k(rawSize)}`, raw?.bulkAddMs, "ms"),
    bulkUpdate: b("bulkUpdate of 500", raw?.bulkUpdate500Ms, "ms"),
    anyOf: b(`where('id').anyOf(500).modify() on ${k(raw?.modifySize ?? 0)}`, raw?.anyOfModify500Ms, "ms"),
    page: b("500-event [status+timestamp] page", raw?.page500Ms, "ms"),
    rss: b(`peak RSS holding ${k(rawSize)}`, rawPeakRssMb, "MB"),
  };
}

/**
 * The parts `--only` can pick, comma-separated: the cold start, the raw Dexie baselines, the store
 * API (enqueue, mark 500; `mark` names the same part), the CLI (import of every size, then ls
 * and open of the stores it built; `import` names the same part).
 */
const STORE_PARTS: Record<string, "help" | "raw" | "api" | "cli"> = { help: "help", raw: "raw", api: "api", mark: "api", cli: "cli", import: "cli" };

function storeParts(only: string | undefined): Set<string> {
  if (only === undefined) return new Set(Object.values(STORE_PARTS));
  const parts = new Set<string>();
  for (const name of only.split(",")) {
    const part = STORE_PARTS[name.trim()];
    if (!part) throw new Error(`--only ${only}: expected parts among ${Object.keys(STORE_PARTS).join(", ")}`);
    parts.add(part);
  }
  return parts;
}

/** Plain Dexie on in-memory fake-indexeddb, in its own process: the baselines of the figures. */
async function rawPart(report: BenchReport, p: StoreBenchParams): Promise<{ raw: RawDexieResult | undefined; rawPeakRssMb: number | null }> {
  try {
    const r = await runTask<RawDexieResult>("raw-dexie", p.raw);
    const raw = r.result;
    report.add({
      id: "raw.bulkAdd.ms",
      label: `raw Dexie: load ${k(p.raw.size)} events (bulkAdd)`,
      value: raw.bulkAddMs,
      unit: "ms",
      note: `peak RSS ${Math.round(r.run.peakRssMb ?? 0)} MB, heap ${Math.round(raw.heapAfterLoadMb)} MB after load`,
    });
    report.add({ id: "raw.bulkAdd.peakRssMb", label: `raw Dexie: peak RSS holding ${k(p.raw.size)} events`, value: r.run.peakRssMb, unit: "MB" });
    report.add({ id: "raw.anyOfModify500.ms", label: `raw Dexie: where('id').anyOf(500).modify() on ${k(raw.modifySize)} (the seed's batch marking)`, value: raw.anyOfModify500Ms, unit: "ms" });
    return { raw, rawPeakRssMb: r.run.peakRssMb };
  } catch (err) {
    report.unavailable("raw Dexie baseline", (err as Error).message);
    return { raw: undefined, rawPeakRssMb: null };
  }
}

export async function runStoreBench(report: BenchReport, quick: boolean, only?: string): Promise<void> {
  const parts = storeParts(only);
  const p = storeParams(quick);
  Object.assign(report.params, p, only !== undefined ? { only: [...parts] } : {});

  if (parts.has("help")) await coldStart(report, p.coldStartRuns);

  const { raw, rawPeakRssMb } = parts.has("raw") ? await rawPart(report, p) : { raw: undefined, rawPeakRssMb: null };
  const base = rawBaselines(raw, p.raw.size, rawPeakRssMb);

  const located = locateExport("src/stores/dexie", "openDexieStore");
  if (!parts.has("api")) {
    // skipped by --only
  } else if (!located.ok) {
    report.unavailable("durable store API (enqueue, mark 500, open)", located.reason);
  } else {
    await withTempDir("store-api", async (dir) => {
      try {
        const { result: a } = await runTask<StoreApiResult>("store-api", { ...p.api, module: located.file, dir: path.join(dir, "store") });
        report.add({ id: "enqueue.single.eventsPerSec", label: "durable enqueue, one writer awaiting each call", value: a.singlePerSec, unit: "events/s", baselines: [base.add] });
        report.add({
          id: "enqueue.concurrent.eventsPerSec",
          label: `durable enqueue, ${p.api.callers} concurrent callers`,
          value: a.concurrentPerSec,
          unit: "events/s",
          baselines: [base.addConc],
          target: { op: ">=", value: 20_000 },
        });
        report.add({ id: "enqueue.single.p50Ms", label: "durable enqueue latency p50 (one writer)", value: a.singleP50Ms, unit: "ms", baselines: [base.addP50] });
        report.add({ id: "enqueue.single.p99Ms", label: "durable enqueue latency p99 (one writer)", value: a.singleP99Ms, unit: "ms", baselines: [base.addP99] });
        report.add({ id: "enqueue.concurrent.p50Ms", label: `durable enqueue latency p50 (${p.api.callers} callers)`, value: a.concurrentP50Ms, unit: "ms" });
        report.add({ id: "enqueue.concurrent.p99Ms", label: `durable enqueue latency p99 (${p.api.callers} callers)`, value: a.concurrentP99Ms, unit: "ms" });
        report.add({ id: "enqueue.batch1000.eventsPerSec", label: `durable enqueue in batches of 1000, up to ${k(a.sizeReached)}`, value: a.fillPerSec, unit: "events/s", baselines: [base.bulkAddRate] });
        report.add({
          id: "mark500.ms",
          label: `mark a 500-event batch (update of 500) at ${k(a.sizeReached)}, median of ${p.api.markRounds}`,
          value: a.mark500MedianMs,
          unit: "ms",
          baselines: [base.bulkUpdate, base.anyOf],
          target: { op: "<=", value: 20 },
          note: `max ${Math.round(a.mark500MaxMs * 10) / 10} ms; CPU time ${Math.round(a.mark500CpuMedianMs * 10) / 10} ms (median); completing the same 500: ${Math.round(a.complete500MedianMs * 10) / 10} ms`,
        });
      } catch (err) {
        report.unavailable("durable store API (enqueue, mark 500)", (err as Error).message);
      }
    });
  }

  if (!parts.has("cli")) return;
  const cli = await cliCommandAvailable(["queue", "import"]);
  const ls = await cliCommandAvailable(["queue", "ls"]);
  if (!cli.ok || !ls.ok) {
    report.unavailable("queue import / queue ls / open at 10k–1M", [cli, ls].map((c) => (c.ok ? "" : c.reason)).filter(Boolean).join("; "));
    return;
  }
  await withTempDir("store-cli", async (dir) => {
    const stores = await importAndList(report, dir, p.sizes, base);
    if (!located.ok) return;
    for (const [size, storeDir] of stores) {
      try {
        const { result: o, run } = await runTask<OpenStoreResult>("open-store", { module: located.file, dir: storeDir } satisfies OpenStoreParams);
        if (o.opened) {
          report.add({
            id: `open.${k(size)}.ms`,
            label: `open a ${k(size)}-event store (read mode, API)`,
            value: o.openMs,
            unit: "ms",
            ...(size === p.raw.size ? { baselines: [base.bulkAddMs] } : {}),
            ...(size === 100_000 ? { target: { op: "<=" as const, value: 1500 } } : {}),
            note: `peak RSS ${Math.round(run.peakRssMb ?? 0)} MB; counts() ${Math.round(o.countsMs)} ms; first page ${Math.round(o.firstPageMs * 10) / 10} ms; ${o.total} events`,
          });
        } else {
          report.add({ id: `open.${k(size)}.ms`, label: `open a ${k(size)}-event store (read mode, API)`, value: null, unit: "ms", note: `refused (${o.errorName}): ${o.refusal}` });
        }
      } catch (err) {
        report.unavailable(`open ${k(size)} store`, (err as Error).message);
      }
    }
  });
}
