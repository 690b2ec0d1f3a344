/**
 * `diagnose`: every check over one read-only snapshot of a queue, in one pass. The events stream
 * in chunks from the source; with a server, each chunk's ids and rows are looked up there before
 * the checks see it; the checks keep bounded state and report their findings at the end, most
 * severe first. `mudsync doctor` prints the report; `mudsync top` shows the same findings.
 */
import type { QueuedEvent } from "../core/event.ts";
import { rowKey } from "../core/event.ts";
import { openEventSource, type SourceChunk } from "./event-source.ts";
import { FixCommands } from "./fix-commands.ts";
import type { RuleContext, ServerFacts, ServerSettings } from "./rule.ts";
import { type CheckedChunk, runChecks } from "./run-checks.ts";
import type { DiagnoseOptions, DoctorInput, DoctorReport, DoctorSource } from "./types.ts";

export type { DaemonHeadStatus, DiagnoseOptions, DoctorInput, DoctorReport, DoctorSource, Finding, Severity } from "./types.ts";

/** The config's `stuckAfterMs` default. */
export const DEFAULT_STUCK_AFTER_MS = 60_000;
export const DEFAULT_SAMPLE_SIZE = 10;

/** The server side of a diagnosis (with --db): its settings, and facts per event. */
interface ServerLookup {
  settings: ServerSettings;
  facts(events: readonly QueuedEvent[]): Promise<ServerFacts[]>;
  close(): Promise<void>;
}

export async function diagnose(input: DoctorInput, opts: DiagnoseOptions = {}): Promise<DoctorReport> {
  const server = input.db ? await openServerLookup(input.db, input.dbSchema) : undefined;
  try {
    const source = await openEventSource(sourceOf(input), opts.onProgress);
    try {
      const ctx: RuleContext = {
        now: opts.now ?? Date.now(),
        sampleSize: opts.sampleSize ?? DEFAULT_SAMPLE_SIZE,
        stuckAfterMs: opts.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS,
        fix: new FixCommands(sourceOf(input), input.db, input.dbSchema),
        daemon: input.daemon,
        server: server?.settings,
        cache: await source.cacheTags?.(opts.sampleSize ?? DEFAULT_SAMPLE_SIZE),
        valuesChecked: source.valuesChecked,
      };
      const { events, findings } = await runChecks(withFacts(source.chunks(), server), ctx);
      return { source: source.label, events, findings, healthy: findings.every((f) => f.severity === "info") };
    } finally {
      await source.close();
    }
  } finally {
    await server?.close();
  }
}

/** The source's chunks, each with what the server says about its events (with --db). */
async function* withFacts(chunks: AsyncIterable<SourceChunk>, server: ServerLookup | undefined): AsyncIterable<CheckedChunk> {
  for await (const chunk of chunks) yield server ? { ...chunk, facts: await server.facts(chunk.events) } : chunk;
}

function sourceOf(input: DoctorInput): DoctorSource {
  switch (input.kind) {
    case "store":
      return { kind: "store", dir: input.dir, ...(input.keys ? { keys: input.keys } : {}) };
    case "file":
      return { kind: "file", path: input.path };
    case "queue":
      return { kind: "queue", url: input.url, ...(input.schema ? { schema: input.schema } : {}) };
  }
}

async function openServerLookup(url: string, schema: string | undefined): Promise<ServerLookup> {
  const { ServerSnapshot } = await import("../sinks/pg/server-snapshot.ts");
  const snap = await ServerSnapshot.open({ url, schema });
  return {
    settings: { entities: snap.entities(), maxPayloadBytes: snap.maxPayloadBytes, label: snap.label },
    async facts(events) {
      const open = events.filter((e) => e.status !== "completed");
      const [applied, versions] = await Promise.all([
        snap.appliedIds(open.map((e) => e.id)),
        snap.rowVersions(open.filter((e) => e.baseVersion !== undefined && e.status !== "dead").map((e) => ({ entity: e.entity, id: e.entityId }))),
      ]);
      return events.map((e) => ({ applied: applied.has(e.id), rowVersion: versions.get(rowKey(e)) ?? null }));
    },
    close: () => snap.close(),
  };
}
