/**
 * Sink.rolledBack, the transaction a dry run drains into (PGlite and the real server): what
 * happens inside is visible inside and gone after; a batch the server refuses as a whole undoes
 * only itself, so the engine can split it and go on, as it does when every batch is its own
 * transaction; an error of the caller comes out unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WireEvent } from "../../src/core/ports.ts";
import { PermanentSinkError } from "../../src/errors.ts";
import { PgClient } from "../../src/postgres/pg-client.ts";
import { PgSink } from "../../src/sinks/pg/pg-sink.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { createMigratedPglite, uniquePrefix } from "../helpers/pglite.ts";

const PG = await realPgAvailable();
const BACKENDS: ("pglite" | "pg")[] = PG ? ["pglite", "pg"] : ["pglite"];

function ev(id: string, entityId: string, payload: Record<string, unknown>, over: Partial<WireEvent> = {}): WireEvent {
  return { id, type: "add", entity: "well", entityId, payload, timestamp: 1_700_000_000_000, ...over };
}

for (const kind of BACKENDS) {
  describe(`PgSink.rolledBack (${kind})`, () => {
    let db: TestDatabase | undefined;
    let sink: PgSink;
    const ledger = async (id: string) =>
      Number((await sink.client.query<{ n: string }>("select count(*) as n from mudsync.applied_events where event_id = $1", [id])).rows[0]!.n);

    beforeAll(async () => {
      if (kind === "pg") {
        db = await createTestDatabase("mudsync_rolled_back");
        sink = new PgSink(new PgClient({ url: db.url }), { schema: "mudsync" });
        await sink.migrate();
      } else {
        sink = await createMigratedPglite();
      }
    });
    afterAll(async () => {
      await sink?.close();
      await db?.drop();
    });

    it("sees its own writes, survives a refused batch, parks conflicts, and leaves nothing behind", async () => {
      const p = uniquePrefix("rb");
      await sink.applyBatch([ev(`${p}e0`, `${p}w0`, { depth: 1 })]);
      const inside = await sink.rolledBack(async (tx) => {
        expect(tx.name).toBe(sink.name);
        const first = await tx.applyBatch([ev(`${p}e1`, `${p}w1`, { name: "one" })]);
        // jsonb cannot hold \u0000: the server refuses the whole batch
        const refused = await tx.applyBatch([ev(`${p}e2`, `${p}w2`, { name: "bad\u0000" })]).catch((e: unknown) => e);
        const next = await tx.applyBatch([ev(`${p}e3`, `${p}w0`, { depth: 2 }, { type: "update", baseVersion: 0 })]);
        const parked = await tx.parkConflicts!([{ event: ev(`${p}e3`, `${p}w0`, { depth: 2 }), current: null }]);
        const rows = await tx.readRows([{ entity: "well", id: `${p}w1` }, { entity: "well", id: `${p}w0` }, { entity: "nope", id: "x" }]);
        return { first, refused, next, parked, rows };
      });
      expect(inside.first.map((r) => r.outcome)).toEqual(["applied"]);
      expect(inside.refused).toBeInstanceOf(PermanentSinkError);
      expect(inside.next.map((r) => r.outcome)).toEqual(["conflict"]);
      expect(inside.parked).toHaveLength(1);
      expect(inside.rows).toEqual([
        expect.objectContaining({ version: 1, data: { name: "one" } }),
        expect.objectContaining({ version: 1, data: { depth: 1 } }),
        null,
      ]);

      expect(await sink.getRow("well", `${p}w1`)).toBeNull();
      expect(await ledger(`${p}e1`)).toBe(0);
      expect(await sink.listConflicts()).not.toEqual(expect.arrayContaining([expect.objectContaining({ eventId: `${p}e3` })]));
      // the sink is usable afterwards, and what was rolled back applies for real
      expect((await sink.applyBatch([ev(`${p}e1`, `${p}w1`, { name: "one" })])).map((r) => r.outcome)).toEqual(["applied"]);
    });

    it("an error of the caller comes out as it was, and its writes are rolled back", async () => {
      const p = uniquePrefix("rb");
      const mine = new Error("stop here");
      const err = await sink
        .rolledBack(async (tx) => {
          await tx.applyBatch([ev(`${p}e1`, `${p}w1`, { name: "one" })]);
          throw mine;
        })
        .catch((e: unknown) => e);
      expect(err).toBe(mine);
      expect(await sink.getRow("well", `${p}w1`)).toBeNull();
    });
  });
}
