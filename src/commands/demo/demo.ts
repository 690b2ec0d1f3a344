/**
 * `mudsync demo`: the whole pipeline on a bare machine, in a fresh store with the embedded PGlite.
 *
 * 1. imports the queue export a real browser made (fixtures/browser-export.json),
 * 2. shows what is stuck in it (events left processing by a crashed tab, failed events, an entity
 *    this version does not know),
 * 3. gives the embedded server the history the app had already synced (the completed events),
 *    and has a second device edit two rows on the server while a tablet edits them offline,
 * 4. drains the queue into the server with progress, resolving the conflicts it meets (merge),
 * 5. prints the summary and the resulting rows, and checks them against the final state computed
 *    from the export (fixtures/browser-export.expected.json).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { QueuedEvent } from "../../core/event.ts";
import type { RowState, Sink, WireEvent } from "../../core/ports.ts";
import { toWireEvent } from "../../core/coalesce.ts";
import { formatDuration } from "../../core/format-duration.ts";
import type { Strategy } from "../../config/config.ts";
import { MudsyncError } from "../../errors.ts";
import type { CommandContext } from "../shared/context.ts";
import { openSinkFor } from "../shared/sink-setup.ts";
import { table } from "../shared/output.ts";
import type { DrainResult } from "../queue/drain.ts";
import type { StatsResult } from "../queue/stats.ts";

const FIXTURES = fileURLToPath(new URL("../../../fixtures/", import.meta.url));

export interface DemoOptions {
  /** keep the demo store (default: a temp dir removed at the end) */
  keep?: boolean;
  /** use this store instead of a fresh temp dir */
  store?: string;
  strategy?: Strategy;
}

interface ExpectedState {
  charts: Record<string, { entryIds: string[] }>;
  documents: Record<string, Record<string, unknown>>;
}

export interface DemoResult {
  store: string;
  kept: boolean;
  imported: { events: number; cache: number };
  stuck: Pick<StatsResult, "byStatus" | "byEntity" | "stuckProcessing" | "failed" | "oldestPending">;
  seeded: number;
  conflictsStaged: number;
  drain: DrainResult;
  charts: { id: string; version: number; entries: number; sample: string[] }[];
  conflictRows: { row: string; version: number; data: unknown }[];
  documents: Record<string, number>;
  /** the server's rows equal the final state computed from the export */
  matchesExpected: boolean;
  mismatches: string[];
  elapsedMs: number;
}

/** The conflicting edits staged by the demo: rows of their own, so the fixture's rows stay comparable. */
function conflictScenario(now: number): { seed: WireEvent[]; remote: WireEvent[]; local: QueuedEvent[] } {
  const entry = (id: string) => ({ id, source: { type: "curve", curveId: id }, displaySettings: { visible: true } });
  const ev = (p: Partial<WireEvent> & Pick<WireEvent, "id" | "type" | "entity" | "entityId" | "payload">): WireEvent => ({ timestamp: now, ...p });
  return {
    // version 1 of both rows, as every device last saw them
    seed: [
      ev({ id: "demo-seed-1", type: "add", entity: "well", entityId: "demo-well-A7", payload: { name: "A-7", status: "drilling", depth_m: 1200 }, clientId: "server" }),
      ev({ id: "demo-seed-2", type: "add", entity: "chart_data_source", entityId: "demo-chart", payload: entry("curve-GR"), clientId: "server" }),
    ],
    // a second device changes them on the server while the tablet is offline
    remote: [
      ev({ id: "demo-remote-1", type: "update", entity: "well", entityId: "demo-well-A7", payload: { status: "completed" }, clientId: "desktop-2" }),
      ev({ id: "demo-remote-2", type: "add", entity: "chart_data_source", entityId: "demo-chart", payload: entry("curve-RHOB"), clientId: "desktop-2" }),
      ev({ id: "demo-remote-3", type: "remove", entity: "chart_data_source", entityId: "demo-chart", payload: { id: "curve-GR" }, clientId: "desktop-2" }),
    ],
    // the tablet's offline edits, made against version 1
    local: [
      { id: "demo-local-1", type: "update", entity: "well", entityId: "demo-well-A7", payload: { depth_m: 1350 }, baseVersion: 1, clientId: "tablet", seq: 1, timestamp: now, status: "pending", retryCount: 0 },
      { id: "demo-local-2", type: "add", entity: "chart_data_source", entityId: "demo-chart", payload: entry("curve-NPHI"), baseVersion: 1, clientId: "tablet", seq: 2, timestamp: now + 1, status: "pending", retryCount: 0 },
    ],
  };
}

export async function demo(opts: DemoOptions, parent: CommandContext, log: (line: string) => void): Promise<DemoResult> {
  const started = Date.now();
  const dir = opts.store ? path.resolve(parent.cwd, opts.store) : mkdtempSync(path.join(os.tmpdir(), "mudsync-demo-"));
  const keep = Boolean(opts.keep || opts.store);
  const ctx: CommandContext = {
    ...parent,
    config: { ...parent.config, store: dir, db: undefined, supabaseUrl: undefined, strategy: opts.strategy ?? "merge", strategies: {} },
  };
  try {
    // 1. import
    log(`store: ${dir}${keep ? "" : " (temporary)"}`);
    const { queueImport } = await import("../queue/import.ts");
    const silent = { update() {}, finish() {} };
    const imported = await queueImport(
      { files: [path.join(FIXTURES, "browser-export.json"), path.join(FIXTURES, "browser-cache-export.json")] },
      ctx,
      silent,
    );
    log(`1. imported the browser's export: ${imported.events.inserted} events, ${imported.cache.inserted} cache entries`);

    // 2. what is stuck
    const { queueStats } = await import("../queue/stats.ts");
    const stats = await queueStats({}, ctx);
    const unknown = Object.keys(stats.byEntity).filter((e) => !["chart_data_source", "well", "polygon", "curve"].includes(e));
    log(
      `2. stuck: ${stats.byStatus.pending} pending, ${stats.stuckProcessing.count} left processing by a crashed tab (no lease), ` +
        `${stats.failed.count} failed (the app never retries failed events)${unknown.length ? `, unknown entity: ${unknown.join(", ")}` : ""}`,
    );

    const { openQueueStore } = await import("../queue/open-store.ts");
    const store = await openQueueStore(ctx, "write", "demo");
    let sink: Sink | undefined;
    try {
      log("   starting the embedded PostgreSQL (PGlite) …");
      sink = await openSinkFor(ctx);

      // 3. the server's history + a concurrent edit from another device
      const history: WireEvent[] = [];
      for await (const batch of store.scan(1000)) for (const e of batch) if (e.status === "completed") history.push(toWireEvent(e));
      history.sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : 1));
      for (let i = 0; i < history.length; i += 500) await sink.applyBatch(history.slice(i, i + 500));
      const scenario = conflictScenario(started);
      await sink.applyBatch(scenario.seed);
      await sink.applyBatch(scenario.remote);
      await store.enqueue(scenario.local);
      log(`3. the server has the ${history.length} events the app had synced; a second device edited 2 rows the tablet also edited offline`);

      // 4. drain
      const { drainWith } = await import("../queue/drain.ts");
      log(`4. draining into PGlite (strategy ${ctx.config.strategy}) …`);
      const drain = await drainWith(store, sink, ctx, { label: "demo drain" });
      process.exitCode = undefined; // dead events of the unknown entity are an expected finding here

      // 5. rows
      const expected = JSON.parse(readFileSync(path.join(FIXTURES, "browser-export.expected.json"), "utf8")) as ExpectedState;
      const { charts, documents, mismatches } = await compareRows(sink, expected);
      const conflictRows: DemoResult["conflictRows"] = [];
      for (const [entity, id] of [["well", "demo-well-A7"], ["chart_data_source", "demo-chart"]] as const) {
        const row = await sink.getRow(entity, id);
        if (row) conflictRows.push({ row: `${entity}:${id}`, version: row.version, data: row.data });
      }
      return {
        store: dir,
        kept: keep,
        imported: { events: imported.events.inserted, cache: imported.cache.inserted },
        stuck: { byStatus: stats.byStatus, byEntity: stats.byEntity, stuckProcessing: stats.stuckProcessing, failed: stats.failed, oldestPending: stats.oldestPending },
        seeded: history.length,
        conflictsStaged: scenario.local.length,
        drain,
        charts,
        conflictRows,
        documents,
        matchesExpected: mismatches.length === 0,
        mismatches: mismatches.slice(0, 20),
        elapsedMs: Date.now() - started,
      };
    } finally {
      await sink?.close();
      await store.close();
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

async function compareRows(sink: Sink, expected: ExpectedState) {
  const mismatches: string[] = [];
  const charts: DemoResult["charts"] = [];
  for (const [id, want] of Object.entries(expected.charts)) {
    const row = await sink.getRow("chart_data_source", id);
    const entries = entriesOf(row);
    const got = entries.map((e) => String(e.id));
    if (got.length !== want.entryIds.length || [...got].sort().join("\n") !== [...want.entryIds].sort().join("\n")) {
      mismatches.push(`chart ${id}: ${got.length} entries, expected ${want.entryIds.length}`);
    }
    charts.push({ id, version: row?.version ?? 0, entries: got.length, sample: got.slice(0, 3) });
  }
  const documents: Record<string, number> = {};
  for (const [entity, docs] of Object.entries(expected.documents)) {
    documents[entity] = 0;
    for (const [id, want] of Object.entries(docs)) {
      const row = await sink.getRow(entity, id);
      if (!row) mismatches.push(`${entity} ${id}: missing`);
      else {
        documents[entity] += 1;
        if (JSON.stringify(sortKeys(row.data)) !== JSON.stringify(sortKeys(want))) mismatches.push(`${entity} ${id}: content differs`);
      }
    }
  }
  return { charts, documents, mismatches };
}

function entriesOf(row: RowState | null): Record<string, unknown>[] {
  const data = row?.data as { data_source_config?: unknown } | unknown[] | null | undefined;
  if (Array.isArray(data)) return data as Record<string, unknown>[];
  const list = (data as { data_source_config?: unknown } | null | undefined)?.data_source_config;
  return Array.isArray(list) ? (list as Record<string, unknown>[]) : [];
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

export function renderDemo(r: DemoResult): string {
  const d = r.drain;
  const c = d.conflicts;
  const lines = [
    "",
    "5. result",
    `   drained ${d.settled} events in ${d.roundTrips} round trips (${d.eventsPerSec} events/s): applied ${d.applied} (${d.coalesced} coalesced), ` +
      `duplicates ${d.duplicates}, conflicts ${c.resubmitted + c.dropped + c.parked} (merged and re-applied ${c.resubmitted}, dropped ${c.dropped}, parked ${c.parked}), ` +
      `rejected ${d.rejected}, superseded ${d.superseded}`,
    `   left: ${Object.entries(d.left).filter(([s, n]) => n > 0 && s !== "completed").map(([s, n]) => `${s} ${n}`).join(", ") || "nothing"}` +
      (d.rejected || d.superseded
        ? "\n   quarantined as dead: events of an entity this version does not know, and failed events whose row the app had " +
          "already changed again (applying them now would reorder the row's edits); see `mudsync queue ls --status dead`"
        : ""),
    "",
    table(["chart", "version", "entries", "first entries"], r.charts.map((ch) => [ch.id, `v${ch.version}`, String(ch.entries), ch.sample.join(", ")]), 60),
    `documents: ${Object.entries(r.documents).map(([e, n]) => `${n} ${e}s`).join(", ")}`,
    "",
    "conflicting rows after merge (remote and offline edits both kept; the chart entry deselected remotely did not come back):",
    ...r.conflictRows.map((x) => `   ${x.row} v${x.version}: ${JSON.stringify(summarise(x.data))}`),
    "",
    r.matchesExpected
      ? "server rows match the final state computed from the export: yes"
      : `server rows DIFFER from the expected final state:\n   ${r.mismatches.join("\n   ")}`,
    `done in ${formatDuration(r.elapsedMs)}${r.kept ? `; store kept at ${r.store}` : ""}`,
  ];
  return lines.join("\n");
}

function summarise(data: unknown): unknown {
  const entries = Array.isArray(data) ? data : (data as { data_source_config?: unknown } | null)?.data_source_config;
  return Array.isArray(entries) ? { selected: entries.map((e) => (e as { id: string }).id) } : data;
}

/** The demo fails (exit 1) only when the pipeline itself went wrong. */
export function assertDemo(r: DemoResult): void {
  if (!r.matchesExpected) throw new MudsyncError(`demo: the drained rows differ from the expected state (${r.mismatches[0]})`);
}
