/**
 * Properties of apply_batch (fast-check, on PGlite and on the real server when it answers):
 * a random sequence applied one event per batch, as the engine sends it (an edit made on a version
 * its client's own applied edits have since passed goes as made on the newest of them; after a
 * conflict, the client's later edits of that row wait), and all in one batch end in the same rows;
 * and applying any last-writer-wins batch a second time changes nothing (every event a duplicate).
 */
import { compareRowOrder } from "../../src/core/event.ts";
import { OwnVersions } from "../../src/core/own-versions.ts";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WireEvent } from "../../src/core/ports.ts";
import { PgClient } from "../../src/postgres/pg-client.ts";
import { PgSink } from "../../src/sinks/pg/pg-sink.ts";
import { createMigratedPglite } from "../helpers/pglite.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";

const ENTITIES = ["well", "polygon", "chart_data_source"] as const;

interface Step {
  entity: (typeof ENTITIES)[number];
  row: number;
  type: "add" | "update" | "remove";
  payload: Record<string, unknown>;
  client: "a" | "b";
  baseVersion?: number;
}

const stepArb: fc.Arbitrary<Step> = fc.record(
  {
    entity: fc.constantFrom(...ENTITIES),
    row: fc.integer({ min: 0, max: 2 }),
    type: fc.constantFrom("add", "update", "remove"),
    payload: fc.record({ id: fc.constantFrom("s1", "s2"), k: fc.constantFrom("x", "y", "z"), v: fc.integer({ min: 0, max: 9 }) }),
    client: fc.constantFrom("a", "b"),
    baseVersion: fc.integer({ min: 0, max: 4 }),
  },
  { requiredKeys: ["entity", "row", "type", "payload", "client"] },
);

let run = 0;
/** The same steps as events under a namespace, with per-client seq in step order. */
function toEvents(steps: Step[], ns: string): WireEvent[] {
  const seq = { a: 0, b: 0 };
  return steps.map((s, i) => ({
    id: `${ns}-e${i}`,
    type: s.type,
    entity: s.entity,
    entityId: `${ns}-r${s.row}`,
    payload: s.entity === "chart_data_source" ? { id: s.payload.id, [String(s.payload.k)]: s.payload.v } : { [String(s.payload.k)]: s.payload.v },
    timestamp: 1_000 + i,
    clientId: s.client,
    seq: (seq[s.client] += 1),
    ...(s.baseVersion === undefined ? {} : { baseVersion: s.baseVersion }),
  }));
}

async function snapshot(sink: PgSink, ns: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const entity of ENTITIES) {
    for (let r = 0; r <= 2; r++) {
      const row = await sink.getRow(entity, `${ns}-r${r}`);
      out.push(row && { entity, r, version: row.version, data: row.data });
    }
  }
  return out;
}

function properties(label: string, open: () => Promise<{ sink: PgSink; close(): Promise<void> }>): void {
  describe(`apply_batch properties (${label})`, () => {
    let sink: PgSink;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ sink, close } = await open());
    });
    afterAll(async () => {
      await close?.();
    });

    it("one event per batch and all in one batch end in the same rows; a second apply changes nothing", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 12 }), async (steps) => {
          run += 1;
          const nsOne = `p${run}-${Date.now().toString(36)}-one`;
          const nsAll = `p${run}-${Date.now().toString(36)}-all`;
          // sort to the server's row order so both runs see the same sequence per row
          const one = toEvents(steps, nsOne);
          const all = toEvents(steps, nsAll);
          const sorted = [...one].sort(compareRowOrder); // rows are independent; within a row, the server's order
          const own = new OwnVersions();
          const held = new Set<string>();
          for (const e of sorted) {
            const chain = `${e.clientId}:${e.entity}:${e.entityId}`;
            if (held.has(chain)) continue; // deferred behind the client's conflicting edit of the row
            const base = own.baseFor(e);
            const [r] = await sink.applyBatch([{ ...e, ...(base !== undefined ? { baseVersion: base } : {}) }]);
            if (r?.outcome === "applied" && r.version !== undefined) own.record(e, r.version);
            if (r?.outcome === "conflict") held.add(chain);
          }
          await sink.applyBatch(all);
          const a = await snapshot(sink, nsOne);
          const b = await snapshot(sink, nsAll);
          expect(b).toEqual(a);
          // idempotency: without baseVersion every event is applied (or rejected) the first time,
          // so a second apply of the same batch is all duplicates and changes nothing
          const nsTwice = `p${run}-${Date.now().toString(36)}-twice`;
          const lww = toEvents(steps, nsTwice).map(({ baseVersion: _b, ...e }) => e);
          const first = await sink.applyBatch(lww);
          expect(first.every((r) => r.outcome === "applied" || r.outcome === "duplicate")).toBe(true);
          const before = await snapshot(sink, nsTwice);
          const again = await sink.applyBatch(lww);
          expect(again.map((r) => r.outcome)).toEqual(lww.map(() => "duplicate"));
          expect(await snapshot(sink, nsTwice)).toEqual(before);
        }),
        { numRuns: 15 },
      );
    });
  });
}

properties("pglite", async () => {
  const sink = await createMigratedPglite();
  return { sink, close: () => sink.close() };
});

describe.runIf(await realPgAvailable())("real PostgreSQL", () => {
  properties("pg", async () => {
    const db: TestDatabase = await createTestDatabase("mudsync_prop");
    const sink = new PgSink(new PgClient({ url: db.url }), { schema: "mudsync" });
    await sink.migrate();
    return {
      sink,
      close: async () => {
        await sink.close();
        await db.drop();
      },
    };
  });
});
