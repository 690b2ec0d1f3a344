/**
 * Property: export → import → export round-trips exactly. Arbitrary valid queues are written with
 * the streaming writer, read back with the streaming reader (same rows), imported into a fresh
 * Dexie store, reopened from disk and exported again from it: the second file has the same bytes as the first.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { BUILTIN_ENTITIES, EVENT_STATUSES, EVENT_TYPES, type QueuedEvent } from "../../src/core/event.ts";
import { DexieExportReader } from "../../src/io/dexie-export/reader.ts";
import { writeDexieExport } from "../../src/io/dexie-export/writer.ts";
import { openDexieStore } from "../../src/stores/dexie/index.ts";

const root = mkdtempSync(path.join(tmpdir(), "mudsync-roundtrip-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Any text but what an event may not hold (value-limits.ts): a NUL or an unpaired surrogate becomes "?". */
const storable = (s: string) => s.replace(/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "?");
const binary = (o: { minLength?: number; maxLength?: number } = {}) => fc.string({ unit: "binary", ...o }).map(storable);
const text = binary({ minLength: 1, maxLength: 24 });
const eventArb: fc.Arbitrary<QueuedEvent> = fc.record(
  {
    id: text,
    type: fc.constantFrom(...EVENT_TYPES),
    entity: fc.constantFrom(...BUILTIN_ENTITIES, "annotation"),
    entityId: text,
    // as a browser's export carries it: JSON text, where -0 is written as 0 (jsonValue may yield -0)
    payload: fc
      .dictionary(binary(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 })
      .map((p) => JSON.parse(JSON.stringify(p)) as Record<string, unknown>),
    timestamp: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    status: fc.constantFrom(...EVENT_STATUSES),
    retryCount: fc.nat(50),
    clientId: text,
    seq: fc.nat(),
    baseVersion: fc.nat(),
    lastError: binary(),
    leaseUntil: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  },
  { requiredKeys: ["id", "type", "entity", "entityId", "payload", "timestamp", "status", "retryCount"] },
) as fc.Arbitrary<QueuedEvent>;

/** IndexedDB orders string keys by UTF-16 code units, as `<` does. */
const byId = (a: QueuedEvent, b: QueuedEvent) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

let run = 0;

describe("dexie export round trip", () => {
  it("reader and writer, then the store, give back the same bytes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(eventArb, { selector: (e) => e.id, maxLength: 40 }), async (events) => {
        const dir = path.join(root, String(run++));
        const first = path.join(root, `${run}-first.json`);
        const second = path.join(root, `${run}-second.json`);
        const sorted = [...events].sort(byId);
        await writeDexieExport(first, { databaseName: "EventQueueDB", databaseVersion: 1 }, [sorted]);

        const read: unknown[] = [];
        for await (const item of new DexieExportReader(first).rows()) {
          expect(item.type).toBe("row");
          if (item.type === "row") read.push(item.value);
        }
        expect(read).toEqual(sorted);
        try {
          const writer = await openDexieStore({ dir, mode: "write" });
          try {
            await writer.atomic(async () => {
              await writer.enqueue(read as QueuedEvent[]);
            });
          } finally {
            await writer.close();
          }
          // reopened from disk, read-only, as `queue export` does
          const reader = await openDexieStore({ dir, mode: "read" });
          try {
            await writeDexieExport(second, { databaseName: "EventQueueDB", databaseVersion: 1 }, reader.scan(7));
          } finally {
            await reader.close();
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
        expect(readFileSync(second, "utf8")).toBe(readFileSync(first, "utf8"));
        rmSync(first);
        rmSync(second);
      }),
      { numRuns: 30 },
    );
  }, 180_000);
});
