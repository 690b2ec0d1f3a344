/**
 * Where the doctor's events come from, all read-only and in chunks, so that memory holds one chunk
 * at a time: a local store (scanned in batches), an export file (streamed by the export reader,
 * invalid rows reported instead of refused), or the shared Postgres queue (its read-only reader,
 * one snapshot).
 */
import type { QueuedEvent } from "../core/event.ts";
import type { QueueReader } from "../core/ports.ts";
import type { CacheTagReport, InvalidEventRow } from "./rule.ts";
import type { DiagnoseOptions, DoctorSource } from "./types.ts";

export interface SourceChunk {
  events: QueuedEvent[];
  invalid: InvalidEventRow[];
}

export interface EventSource {
  /** what is read, for the report (a queue URL with its password masked) */
  label: string;
  chunks(): AsyncIterable<SourceChunk>;
  /** every event's values were checked as it was read (value-limits.ts); rows that fail come as `invalid` */
  valuesChecked?: boolean;
  /** a local store's cache tags, checked (other sources have no cache) */
  cacheTags?(sampleSize: number): Promise<CacheTagReport>;
  close(): Promise<void>;
}

const CHUNK = 1000;

type OnProgress = DiagnoseOptions["onProgress"];

export async function openEventSource(source: DoctorSource, onProgress: OnProgress): Promise<EventSource> {
  switch (source.kind) {
    case "file":
      return fileSource(source.path, onProgress);
    case "store": {
      const { openDexieStore } = await import("../stores/dexie/index.ts");
      const store = await openDexieStore({ dir: source.dir, mode: "read", command: "doctor", ...(source.keys ? { keys: source.keys } : {}) });
      return { ...readerSource(store, source.dir, onProgress), cacheTags: (sampleSize) => store.checkCacheTags(sampleSize) };
    }
    case "queue": {
      const { openPostgresQueueReader } = await import("../stores/postgres/queue-reader.ts");
      const reader = await openPostgresQueueReader({ url: source.url, schema: source.schema });
      return readerSource(reader, reader.label, onProgress);
    }
  }
}

function readerSource(reader: QueueReader, label: string, onProgress: OnProgress): EventSource {
  return {
    label,
    async *chunks() {
      const counts = onProgress ? await reader.counts() : undefined;
      const total = counts ? Object.values(counts).reduce((a, b) => a + b, 0) : undefined;
      let done = 0;
      for await (const events of reader.scan(CHUNK)) {
        done += events.length;
        onProgress?.({ done, total, unit: "events" });
        yield { events, invalid: [] };
      }
    },
    close: () => reader.close(),
  };
}

function fileSource(file: string, onProgress: OnProgress): EventSource {
  return {
    label: file,
    valuesChecked: true,
    async *chunks() {
      const { DexieExportReader } = await import("../io/dexie-export/reader.ts");
      const reader = new DexieExportReader(file, {
        invalidRows: "collect",
        onProgress: onProgress && ((done, total) => onProgress({ done, total, unit: "bytes" })),
      });
      let chunk: SourceChunk = { events: [], invalid: [] };
      for await (const item of reader.rows()) {
        if (item.table !== "events") continue;
        if (item.type === "row") chunk.events.push(item.value as QueuedEvent);
        else chunk.invalid.push({ id: item.id, where: item.path, reason: item.reason });
        if (chunk.events.length + chunk.invalid.length >= CHUNK) {
          yield chunk;
          chunk = { events: [], invalid: [] };
        }
      }
      if (chunk.events.length + chunk.invalid.length > 0) yield chunk;
    },
    close: async () => {},
  };
}
