/**
 * The read-only store's MemoryTable must page exactly as the writer's Dexie indexes do: for
 * random events (many sharing a timestamp) and random queries, list() through both sources walks
 * the same ids in the same pages, and scan order is primary-key order.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENT_STATUSES, type QueuedEvent } from "../../src/core/event.ts";
import type { ListQuery } from "../../src/core/ports.ts";
import { type EventQueueDB, openDatabases } from "../../src/stores/dexie/databases.ts";
import { dexiePageSource, type PageSource } from "../../src/stores/dexie/events/page-source.ts";
import { listEvents } from "../../src/stores/dexie/events/list-page.ts";
import { MemoryTable } from "../../src/stores/dexie/events/memory-table.ts";

const eventArb = fc.record({
  id: fc.stringMatching(/^[a-d]{1,3}$/),
  status: fc.constantFrom(...EVENT_STATUSES),
  timestamp: fc.integer({ min: 0, max: 5 }),
  entity: fc.constantFrom("well", "curve"),
});

const queryArb = fc.record({
  statuses: fc.option(fc.subarray([...EVENT_STATUSES], { minLength: 1 }), { nil: undefined }),
  entity: fc.option(fc.constantFrom("well", "curve"), { nil: undefined }),
  since: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
  limit: fc.integer({ min: 1, max: 7 }),
  order: fc.constantFrom("asc" as const, "desc" as const),
});

async function walk(source: PageSource, q: Omit<ListQuery, "after">): Promise<string[][]> {
  const pages: string[][] = [];
  let after: string | undefined;
  for (let n = 0; n < 200; n++) {
    const page = await listEvents(source, { ...q, ...(after ? { after } : {}) });
    pages.push(page.events.map((e) => e.id));
    if (!page.next) return pages;
    after = page.next;
  }
  throw new Error("list did not end");
}

describe("MemoryTable", () => {
  let db: EventQueueDB;
  beforeAll(async () => {
    ({ queue: db } = await openDatabases());
  });
  afterAll(() => db.close());

  it("pages like the Dexie indexes for any events and query", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(eventArb, { selector: (e) => e.id, maxLength: 40 }), fc.array(queryArb, { minLength: 1, maxLength: 4 }), async (raw, queries) => {
        const events: QueuedEvent[] = raw.map((e) => ({ ...e, type: "update", entityId: "x", payload: {}, retryCount: 0 }));
        await db.events.clear();
        await db.events.bulkAdd(events);
        const memory = new MemoryTable();
        for (const e of events) memory.set(e);
        for (const q of queries) {
          expect(await walk(memory, q)).toEqual(await walk(dexiePageSource(db.events), q));
        }
        const scanned = (await memory.pageAfter(undefined, 1000)).map((e) => e.id);
        expect(scanned).toEqual(await db.events.toCollection().primaryKeys());
        const firstTwo = scanned.slice(0, 2);
        if (firstTwo.length === 2) expect((await memory.pageAfter(firstTwo[0], 1))[0]?.id).toBe(firstTwo[1]);
      }),
      { numRuns: 150 },
    );
  });

  it("hands out copies, so a caller's change never reaches the stored row", async () => {
    const memory = new MemoryTable();
    memory.set({ id: "a", type: "add", entity: "well", entityId: "1", payload: { n: 1 }, timestamp: 1, status: "pending", retryCount: 0 });
    const [got] = await memory.bulkGet(["a"]);
    got!.payload.n = 2;
    expect((await memory.bulkGet(["a"]))[0]!.payload).toEqual({ n: 1 });
  });
});
