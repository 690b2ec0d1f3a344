/**
 * The writer's in-memory pending order answers like a sorted index of the live entries, whatever
 * the order of arrivals, departures and re-arrivals (fast-check against a plain sort).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PendingOrder } from "../../src/stores/dexie/events/pending-order.ts";

interface Entry {
  id: string;
  timestamp: number;
  live: boolean;
}

const byPosition = (a: Entry, b: Entry) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

describe("pending order", () => {
  it("pages the live entries in (timestamp, id) order after any position", () => {
    const op = fc.oneof(
      fc.record({ add: fc.integer({ min: 0, max: 40 }), id: fc.integer({ min: 0, max: 3000 }) }),
      fc.record({ leave: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 2500 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 64 }), (ops, size, sweepMin) => {
        const order = new PendingOrder<Entry>((e) => e.live, sweepMin);
        const live = new Map<string, Entry>();
        for (const o of ops) {
          if ("add" in o) {
            const id = `e${o.id}`;
            const old = live.get(id);
            if (old) {
              old.live = false;
              order.left();
            }
            const e = { id, timestamp: o.add, live: true };
            live.set(id, e);
            order.add(e);
          } else if (live.size > 0) {
            const victim = [...live.values()][o.leave % live.size]!;
            victim.live = false;
            live.delete(victim.id);
            order.left();
          }
        }
        const expected = [...live.values()].sort(byPosition);
        // walk the whole order page by page, as a claim does
        const seen: string[] = [];
        let after: { ts: number; id: string } | undefined;
        for (;;) {
          const page = order.after(after, size);
          seen.push(...page);
          if (page.length < size) break;
          const last = live.get(page[page.length - 1]!)!;
          after = { ts: last.timestamp, id: last.id };
        }
        expect(seen).toEqual(expected.map((e) => e.id));
      }),
      { numRuns: 200 },
    );
  });
});
