/**
 * The contract every SQL sink passes (pg on the real server, PGlite in process): semantics of
 * apply_batch per entity, idempotency, conflicts, ordering, limits, hostile strings, realtime,
 * dry runs, migrations, and parked conflicts.
 */
import { cpSync, mkdtempSync, rmSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RowChange, WireEvent } from "../../src/core/ports.ts";
import { MigrationError, PermanentSinkError, UsageError } from "../../src/errors.ts";
import { MIGRATIONS_DIR, migrate } from "../../src/sinks/migrate.ts";
import type { PgSink } from "../../src/sinks/pg/pg-sink.ts";

export interface ContractTarget {
  sink: PgSink;
  close(): Promise<void>;
}

export interface ContractOptions {
  /** several sessions at once (the real server; PGlite has one session) */
  concurrent: boolean;
}

let seq = 0;
function ids(label: string) {
  const p = `${label}-${Date.now().toString(36)}-${(seq += 1)}`;
  return { ev: (n: number | string) => `${p}-e${n}`, row: (n: number | string) => `${p}-r${n}` };
}

function ev(e: Partial<WireEvent> & Pick<WireEvent, "id" | "type" | "entity" | "entityId">): WireEvent {
  return { payload: {}, timestamp: 1_700_000_000_000, ...e };
}

export function sinkContract(name: string, factory: () => Promise<ContractTarget>, options: ContractOptions): void {
  describe(`sink contract: ${name}`, () => {
    let t: ContractTarget;
    let sink: PgSink;
    const count = async (sql: string, params: unknown[]) =>
      Number((await sink.client.query<{ n: string }>(sql, params)).rows[0]?.n);

    beforeAll(async () => {
      t = await factory();
      sink = t.sink;
    });
    afterAll(async () => {
      await t?.close();
    });

    it("migrating again is a no-op", async () => {
      const r = await sink.migrate();
      expect(r.ran).toEqual([]);
      expect(r.pending).toEqual([]);
      expect(r.applied.map((m) => m.name)).toEqual(["001_schema.sql", "002_apply_batch.sql", "003_conflicts.sql"]);
    });

    it("refuses a migration whose file changed after it was applied, naming the file", async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "mudsync-migrations-"));
      try {
        cpSync(MIGRATIONS_DIR, dir, { recursive: true });
        appendFileSync(path.join(dir, "002_apply_batch.sql"), "\n-- edited\n");
        const err = await migrate(sink.client, { schema: sink.options.schema, dir }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(MigrationError);
        expect((err as Error).message).toContain("002_apply_batch.sql");
        expect((err as Error).message).toContain("changed after it was applied");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    for (const entity of ["well", "polygon", "curve"]) {
      it(`${entity}: add creates, update shallow-merges, remove deletes; versions count changes`, async () => {
        const k = ids(entity);
        const r1 = await sink.applyBatch([
          ev({ id: k.ev(1), type: "add", entity, entityId: k.row(1), payload: { name: "a", nested: { x: 1 } } }),
        ]);
        expect(r1).toEqual([{ id: k.ev(1), outcome: "applied", version: 1 }]);
        const r2 = await sink.applyBatch([
          ev({ id: k.ev(2), type: "update", entity, entityId: k.row(1), payload: { nested: { y: 2 }, depth: 5 }, baseVersion: 1 }),
        ]);
        expect(r2[0]).toEqual({ id: k.ev(2), outcome: "applied", version: 2 });
        const row = await sink.getRow(entity, k.row(1));
        expect(row).toMatchObject({ entity, id: k.row(1), version: 2, data: { name: "a", nested: { y: 2 }, depth: 5 } });
        const r3 = await sink.applyBatch([ev({ id: k.ev(3), type: "remove", entity, entityId: k.row(1), baseVersion: 2 })]);
        expect(r3[0]).toMatchObject({ outcome: "applied", version: 3 });
        expect(await sink.getRow(entity, k.row(1))).toBeNull();
        // remove of a missing row: applied, nothing changes
        const r4 = await sink.applyBatch([ev({ id: k.ev(4), type: "remove", entity, entityId: k.row(2) })]);
        expect(r4[0]?.outcome).toBe("applied");
        expect(await sink.getRow(entity, k.row(2))).toBeNull();
      });
    }

    it("chart_data_source: entries keyed by id are added, replaced, merged and removed", async () => {
      const k = ids("chart");
      const chart = k.row("c");
      const res = await sink.applyBatch([
        ev({ id: k.ev(1), type: "add", entity: "chart_data_source", entityId: chart, payload: { id: "s1", on: true }, seq: 1 }),
        ev({ id: k.ev(2), type: "add", entity: "chart_data_source", entityId: chart, payload: { id: "s2", on: true }, seq: 2 }),
        ev({ id: k.ev(3), type: "update", entity: "chart_data_source", entityId: chart, payload: { id: "s1", color: "red" }, seq: 3 }),
        ev({ id: k.ev(4), type: "remove", entity: "chart_data_source", entityId: chart, payload: { id: "s2" }, seq: 4 }),
        ev({ id: k.ev(5), type: "remove", entity: "chart_data_source", entityId: chart, payload: { id: "nope" }, seq: 5 }),
        ev({ id: k.ev(6), type: "add", entity: "chart_data_source", entityId: chart, payload: { id: "s1", on: false }, seq: 6 }),
      ]);
      expect(res.map((r) => [r.outcome, r.version])).toEqual([
        ["applied", 1], ["applied", 2], ["applied", 3], ["applied", 4], ["applied", 4], ["applied", 5],
      ]);
      const row = await sink.getRow("chart_data_source", chart);
      expect(row).toMatchObject({ version: 5, data: [{ id: "s1", on: false }] });
      // removing from a chart that does not exist creates nothing
      const r2 = await sink.applyBatch([
        ev({ id: k.ev(7), type: "remove", entity: "chart_data_source", entityId: k.row("none"), payload: { id: "s1" } }),
      ]);
      expect(r2[0]?.outcome).toBe("applied");
      expect(await sink.getRow("chart_data_source", k.row("none"))).toBeNull();
    });

    it("last-writer-wins without baseVersion; update of a missing row upserts", async () => {
      const k = ids("lww");
      await sink.applyBatch([ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: { a: 1 } })]);
      const r = await sink.applyBatch([
        ev({ id: k.ev(2), type: "add", entity: "well", entityId: k.row(1), payload: { b: 2 } }),
        ev({ id: k.ev(3), type: "update", entity: "well", entityId: k.row(2), payload: { c: 3 } }),
      ]);
      expect(r.map((x) => x.outcome)).toEqual(["applied", "applied"]);
      expect((await sink.getRow("well", k.row(1)))?.data).toEqual({ b: 2 });
      expect(await sink.getRow("well", k.row(2))).toMatchObject({ version: 1, data: { c: 3 } });
    });

    it("replaying a batch reports duplicates and changes nothing", async () => {
      const k = ids("dup");
      const batch = [
        ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: { a: 1 } }),
        ev({ id: k.ev(2), type: "update", entity: "well", entityId: k.row(1), payload: { a: 2 }, seq: 2 }),
      ];
      await sink.applyBatch(batch);
      const again = await sink.applyBatch(batch);
      expect(again).toEqual([
        { id: k.ev(1), outcome: "duplicate", version: 1 },
        { id: k.ev(2), outcome: "duplicate", version: 2 },
      ]);
      expect(await sink.getRow("well", k.row(1))).toMatchObject({ version: 2, data: { a: 2 } });
      // the same id twice inside one batch: the second is a duplicate of the first
      const twice = await sink.applyBatch([
        ev({ id: k.ev(3), type: "add", entity: "well", entityId: k.row(3), payload: {} }),
        ev({ id: k.ev(3), type: "add", entity: "well", entityId: k.row(3), payload: {} }),
      ]);
      expect(twice.map((x) => x.outcome)).toEqual(["applied", "duplicate"]);
      expect(await count(`select count(*) as n from ${sink.options.schema}.applied_events where event_id = $1`, [k.ev(3)])).toBe(1);
    });

    it("a stale baseVersion is a conflict that returns the current row and changes nothing", async () => {
      const k = ids("conf");
      await sink.applyBatch([
        ev({ id: k.ev(1), type: "add", entity: "polygon", entityId: k.row(1), payload: { p: 1 } }),
        ev({ id: k.ev(2), type: "update", entity: "polygon", entityId: k.row(1), payload: { p: 2 }, seq: 2 }),
      ]);
      const r = await sink.applyBatch([
        ev({ id: k.ev(3), type: "update", entity: "polygon", entityId: k.row(1), payload: { p: 9 }, baseVersion: 1 }),
        ev({ id: k.ev(4), type: "update", entity: "polygon", entityId: k.row(2), payload: { p: 9 }, baseVersion: 3 }),
      ]);
      expect(r[0]).toEqual({
        id: k.ev(3), outcome: "conflict", version: 2,
        current: { entity: "polygon", id: k.row(1), version: 2, data: { p: 2 } },
      });
      expect(r[1]).toEqual({ id: k.ev(4), outcome: "conflict", current: null });
      expect(await sink.getRow("polygon", k.row(1))).toMatchObject({ version: 2, data: { p: 2 } });
      expect(await sink.getRow("polygon", k.row(2))).toBeNull();
      // a conflict is not recorded as applied: the event can be resolved and applied later
      expect(await count(`select count(*) as n from ${sink.options.schema}.applied_events where event_id = $1`, [k.ev(3)])).toBe(0);
    });

    it("one bad event never fails the others; each rejection says why", async () => {
      const k = ids("bad");
      const events = [
        ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: { ok: true } }),
        ev({ id: k.ev(2), type: "add", entity: "no_such_entity", entityId: k.row(2) }),
        ev({ id: k.ev(3), type: "add", entity: "chart_data_source", entityId: k.row(3), payload: { name: "no id" } }),
        { ...ev({ id: k.ev(4), type: "add", entity: "well", entityId: k.row(4) }), type: "explode" },
        { ...ev({ id: k.ev(5), type: "add", entity: "well", entityId: k.row(5) }), payload: [1, 2] },
        { ...ev({ id: k.ev(6), type: "add", entity: "well", entityId: k.row(6) }), baseVersion: -1 },
        { ...ev({ id: k.ev(7), type: "add", entity: "well", entityId: k.row(7) }), timestamp: "yesterday" },
        { type: "add", entity: "well", entityId: k.row(8), payload: {}, timestamp: 1 },
        ev({ id: k.ev(9), type: "update", entity: "curve", entityId: k.row(9), payload: { ok: 1 } }),
      ] as unknown as WireEvent[];
      const r = await sink.applyBatch(events);
      expect(r.map((x) => x.outcome)).toEqual([
        "applied", "rejected", "rejected", "rejected", "rejected", "rejected", "rejected", "rejected", "applied",
      ]);
      expect(r[1]?.reason).toContain('unknown entity "no_such_entity"');
      expect(r[2]?.reason).toMatch(/^payload\.id:/);
      expect(r[3]?.reason).toMatch(/^type:/);
      expect(r[4]?.reason).toMatch(/^payload:/);
      expect(r[5]?.reason).toMatch(/^baseVersion:/);
      expect(r[6]?.reason).toMatch(/^timestamp:/);
      expect(r[7]?.reason).toMatch(/^id:/);
      const audited = await sink.client.query<{ decision: string; reason: string | null }>(
        `select decision, reason from ${sink.options.schema}.audit_log where event_id = $1`,
        [k.ev(2)],
      );
      expect(audited.rows).toEqual([{ decision: "rejected", reason: expect.stringContaining("unknown entity") }]);
    });

    it("applies the events of one row in (clientId, seq, timestamp) order whatever the input order", async () => {
      const k = ids("order");
      const row = k.row(1);
      const r = await sink.applyBatch([
        ev({ id: k.ev("z"), type: "update", entity: "well", entityId: row, payload: { last: "b3" }, clientId: "b", seq: 3 }),
        ev({ id: k.ev("y"), type: "update", entity: "well", entityId: row, payload: { last: "b1", b1: true }, clientId: "b", seq: 1 }),
        ev({ id: k.ev("x"), type: "add", entity: "well", entityId: row, payload: { last: "a", a: true }, clientId: "a", seq: 7 }),
        ev({ id: k.ev("w"), type: "update", entity: "well", entityId: row, payload: { last: "b2t2" }, clientId: "b", seq: 2, timestamp: 2 }),
        ev({ id: k.ev("v"), type: "update", entity: "well", entityId: row, payload: { last: "b2t1" }, clientId: "b", seq: 2, timestamp: 1 }),
      ]);
      // a (v1) < b1 (v2) < b2@t1 (v3) < b2@t2 (v4) < b3 (v5)
      expect(r.map((x) => x.version)).toEqual([5, 2, 1, 4, 3]);
      expect((await sink.getRow("well", row))?.data).toEqual({ last: "b3", a: true, b1: true });
    });

    it("records coalesced ids as applied with the same version, so replaying any of them is a duplicate", async () => {
      const k = ids("coal");
      const r = await sink.applyBatch([
        { ...ev({ id: k.ev(3), type: "add", entity: "well", entityId: k.row(1), payload: { v: 3 } }), coalesced: [k.ev(1), k.ev(2)] },
      ]);
      expect(r[0]).toEqual({ id: k.ev(3), outcome: "applied", version: 1 });
      const replay = await sink.applyBatch([ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: { v: 1 } })]);
      expect(replay[0]).toEqual({ id: k.ev(1), outcome: "duplicate", version: 1 });
      const { rows } = await sink.client.query<{ event_id: string; version: string; outcome: string }>(
        `select event_id, version::text, outcome from ${sink.options.schema}.applied_events where event_id = any($1) order by event_id`,
        [[k.ev(1), k.ev(2), k.ev(3)]],
      );
      expect(rows).toEqual([1, 2, 3].map((n) => ({ event_id: k.ev(n), version: "1", outcome: "applied" })));
      expect((await sink.getRow("well", k.row(1)))?.data).toEqual({ v: 3 });
    });

    it("accepts a 1 MB payload and rejects one over the limit", async () => {
      const k = ids("big");
      const big = { blob: "x".repeat(1_000_000) };
      const tooBig = { blob: "y".repeat(2 * 1024 * 1024) };
      const r = await sink.applyBatch([
        ev({ id: k.ev(1), type: "add", entity: "curve", entityId: k.row(1), payload: big }),
        ev({ id: k.ev(2), type: "add", entity: "curve", entityId: k.row(2), payload: tooBig }),
      ]);
      expect(r[0]).toMatchObject({ outcome: "applied", version: 1 });
      expect(r[1]).toMatchObject({ outcome: "rejected" });
      expect(r[1]?.reason).toMatch(/over the limit of 1048576 bytes/);
      expect(((await sink.getRow("curve", k.row(1)))?.data as { blob: string }).blob.length).toBe(1_000_000);
      expect(await sink.getRow("curve", k.row(2))).toBeNull();
    });

    it("keeps unicode and SQL-looking strings intact in every text field, entity names included", async () => {
      const nasty = ["'); drop table x; --", 'say "hi"', "back\\slash", "émoji 🛢️ ünïcødé 井", "%I %L $1 $$ $fn$"];
      const q = sink.options.schema;
      const entity = `"); drop table x; -- 🛢️ ${Date.now().toString(36)}`;
      await sink.client.query(`select ${q}.register_entity($1, $2, 'document')`, [entity, `t "weird" ${Date.now().toString(36)}`]);
      const k = ids("nasty");
      for (const [i, s] of nasty.entries()) {
        const payload = { [s]: s, nested: { [s]: [s] } };
        const r = await sink.applyBatch([
          ev({ id: `${k.ev(i)}${s}`, type: "add", entity: "well", entityId: `${k.row(i)}${s}`, payload, clientId: s }),
          ev({ id: `${k.ev(i)}${s}-dyn`, type: "add", entity, entityId: `${k.row(i)}${s}`, payload, clientId: s }),
          ev({ id: `${k.ev(i)}${s}-c`, type: "add", entity: "chart_data_source", entityId: `${k.row(i)}${s}`, payload: { id: s, s } }),
          ev({ id: `${k.ev(i)}${s}-bad`, type: "add", entity: s, entityId: s, payload }),
        ]);
        expect(r.map((x) => x.outcome)).toEqual(["applied", "applied", "applied", "rejected"]);
        expect(r[0]?.id).toBe(`${k.ev(i)}${s}`);
        expect(await sink.getRow("well", `${k.row(i)}${s}`)).toMatchObject({ data: payload, updatedBy: s });
        expect(await sink.getRow(entity, `${k.row(i)}${s}`)).toMatchObject({ entity, data: payload, version: 1 });
        expect((await sink.getRow("chart_data_source", `${k.row(i)}${s}`))?.data).toEqual([{ id: s, s }]);
      }
      // the registry-added entity folds several events of one row too (dynamic path)
      const r = await sink.applyBatch([
        ev({ id: k.ev("d1"), type: "update", entity, entityId: k.row("d"), payload: { a: 1 }, seq: 1 }),
        ev({ id: k.ev("d2"), type: "update", entity, entityId: k.row("d"), payload: { b: 2 }, seq: 2 }),
      ]);
      expect(r.map((x) => x.version)).toEqual([1, 2]);
      expect((await sink.getRow(entity, k.row("d")))?.data).toEqual({ a: 1, b: 2 });
      const tables = await count("select count(*) as n from information_schema.tables where table_name = 'x'", []);
      expect(tables).toBe(0);
    });

    it("publishes each committed change with NOTIFY (entity, id, version, op, changedBy)", async () => {
      const k = ids("notify");
      const seen: RowChange[] = [];
      const stop = await sink.subscribe((c) => {
        if (c.id.startsWith(k.row(""))) seen.push(c);
      });
      try {
        await sink.applyBatch([ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: {}, clientId: "cli-1" })]);
        await sink.applyBatch([
          ev({ id: k.ev(2), type: "update", entity: "well", entityId: k.row(1), payload: { a: 1 }, clientId: "cli-2" }),
          ev({ id: k.ev(3), type: "add", entity: "chart_data_source", entityId: k.row(2), payload: { id: "s" }, clientId: "cli-2" }),
        ]);
        await sink.applyBatch([ev({ id: k.ev(4), type: "remove", entity: "well", entityId: k.row(1), clientId: "cli-3" })]);
        for (let i = 0; i < 100 && seen.length < 4; i++) await new Promise((r) => setTimeout(r, 20));
        expect(seen).toEqual(
          expect.arrayContaining([
            { entity: "well", id: k.row(1), version: 1, op: "insert", changedBy: "cli-1" },
            { entity: "well", id: k.row(1), version: 2, op: "update", changedBy: "cli-2" },
            { entity: "chart_data_source", id: k.row(2), version: 1, op: "insert", changedBy: "cli-2" },
            { entity: "well", id: k.row(1), version: 3, op: "delete", changedBy: "cli-3" },
          ]),
        );
        expect(seen).toHaveLength(4);
      } finally {
        await stop();
      }
    });

    it("a dry run reports before and after and changes nothing", async () => {
      const k = ids("dry");
      await sink.applyBatch([ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: { a: 1 } })]);
      const events = [
        ev({ id: k.ev(2), type: "update", entity: "well", entityId: k.row(1), payload: { a: 2 } }),
        ev({ id: k.ev(3), type: "add", entity: "polygon", entityId: k.row(2), payload: { p: 1 } }),
        ev({ id: k.ev(4), type: "add", entity: "nope", entityId: k.row(3) }),
      ];
      const report = await sink.dryRun(events);
      expect(report.results.map((r) => r.outcome)).toEqual(["applied", "applied", "rejected"]);
      expect(report.rows).toEqual([
        expect.objectContaining({ entity: "well", id: k.row(1), before: expect.objectContaining({ version: 1 }), after: expect.objectContaining({ version: 2, data: { a: 2 } }) }),
        expect.objectContaining({ entity: "polygon", id: k.row(2), before: null, after: expect.objectContaining({ version: 1 }) }),
        { entity: "nope", id: k.row(3), before: null, after: null },
      ]);
      expect(await sink.getRow("well", k.row(1))).toMatchObject({ version: 1, data: { a: 1 } });
      expect(await sink.getRow("polygon", k.row(2))).toBeNull();
      expect((await sink.applyBatch(events)).map((r) => r.outcome)).toEqual(["applied", "applied", "rejected"]);
    });

    it("getRow of an unknown entity is a usage error naming it", async () => {
      await expect(sink.getRow("no_such_thing", "1")).rejects.toThrow(UsageError);
      await expect(sink.getRow("no_such_thing", "1")).rejects.toThrow(/unknown entity "no_such_thing"/);
    });

    it("parks conflicts and resolves them atomically, with every step audited", async () => {
      const k = ids("park");
      await sink.applyBatch([
        ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: { a: 1, b: 1 } }),
        ev({ id: k.ev(2), type: "update", entity: "well", entityId: k.row(1), payload: { a: 2 }, seq: 2 }),
      ]);
      const local = ev({ id: k.ev(3), type: "update", entity: "well", entityId: k.row(1), payload: { b: 9 }, baseVersion: 1, clientId: "me" });
      const other = ev({ id: k.ev(4), type: "update", entity: "well", entityId: k.row(1), payload: { b: 7 }, baseVersion: 1 });
      const [c1, c2] = await sink.applyBatch([local, other]);
      expect(c1?.outcome).toBe("conflict");
      const parked = await sink.parkConflicts([
        { event: local, current: c1?.current ?? null },
        { event: other, current: c2?.current ?? null },
      ]);
      expect(parked.map((p) => p.eventId)).toEqual([k.ev(3), k.ev(4)]);
      // parking again is idempotent
      expect(await sink.parkConflicts([{ event: local, current: c1?.current ?? null }])).toEqual([parked[0]]);
      const id1 = parked[0]!.conflictId;
      const id2 = parked[1]!.conflictId;
      const got = await sink.getConflict(id1);
      expect(got).toMatchObject({ eventId: k.ev(3), status: "open", baseVersion: 1, currentVersion: 2, local: { payload: { b: 9 } } });
      expect((await sink.listConflicts({ status: "open" })).map((c) => c.id)).toEqual(expect.arrayContaining([id1, id2]));

      const res = await sink.resolveConflict(id1, "local", undefined, "alice");
      expect(res).toMatchObject({ conflictId: id1, take: "local", result: { outcome: "applied", version: 3 } });
      expect(res.row).toMatchObject({ version: 3, data: { a: 2, b: 9 } });
      const res2 = await sink.resolveConflict(id2, "remote", undefined, "bob");
      expect(res2.result).toMatchObject({ outcome: "resolved", version: 3 });
      expect(await sink.getRow("well", k.row(1))).toMatchObject({ version: 3, data: { a: 2, b: 9 } });
      expect(await sink.getConflict(id2)).toMatchObject({ status: "resolved", resolution: "remote", resolvedBy: "bob" });
      await expect(sink.resolveConflict(id1, "remote")).rejects.toThrow(PermanentSinkError);
      await expect(sink.resolveConflict(id1, "remote")).rejects.toThrow(/already resolved/);
      // both event ids now replay as duplicates
      expect((await sink.applyBatch([local, other])).map((r) => r.outcome)).toEqual(["duplicate", "duplicate"]);
      const { rows } = await sink.client.query<{ event_id: string; decision: string; actor: string | null }>(
        `select event_id, decision, actor from ${sink.options.schema}.audit_log where event_id = any($1) order by id`,
        [[k.ev(3), k.ev(4)]],
      );
      expect(rows.filter((r) => r.event_id === k.ev(3)).map((r) => r.decision)).toEqual([
        "conflict", "parked", "applied", "resolved", "duplicate",
      ]);
      expect(rows.find((r) => r.event_id === k.ev(4) && r.decision === "resolved")?.actor).toBe("bob");

      // merged: the merged document is written
      const third = ev({ id: k.ev(5), type: "update", entity: "well", entityId: k.row(1), payload: { c: 1 }, baseVersion: 1 });
      const [c3] = await sink.applyBatch([third]);
      const [p3] = await sink.parkConflicts([{ event: third, current: c3?.current ?? null }]);
      const res3 = await sink.resolveConflict(p3!.conflictId, "merged", { a: 2, b: 9, c: 1 }, "carol");
      expect(res3.row).toMatchObject({ version: 4, data: { a: 2, b: 9, c: 1 } });
    });

    it.runIf(options.concurrent)("10 concurrent batches on the same rows: no deadlock, no lost update", async () => {
      const k = ids("conc");
      const rows = [1, 2, 3, 4, 5].map((n) => k.row(n));
      await sink.applyBatch(rows.map((r, i) => ev({ id: k.ev(`init${i}`), type: "add", entity: "well", entityId: r, payload: { n: 0 } })));
      const batches = Array.from({ length: 10 }, (_, b) =>
        // each batch touches the rows in a different order
        [...rows].sort(() => (b % 2 ? 1 : -1)).flatMap((r, i) => [
          ev({ id: k.ev(`${b}-${i}-a`), type: "update", entity: "well", entityId: r, payload: { [`b${b}`]: 1 }, clientId: `c${b}`, seq: 1 }),
          ev({ id: k.ev(`${b}-${i}-b`), type: "update", entity: "well", entityId: r, payload: { [`b${b}x`]: 1 }, clientId: `c${b}`, seq: 2 }),
        ]),
      );
      const results = await Promise.all(batches.map((b) => sink.applyBatch(b)));
      expect(results.flat().every((r) => r.outcome === "applied")).toBe(true);
      for (const r of rows) {
        const row = await sink.getRow("well", r);
        expect(row?.version).toBe(21);
        expect(Object.keys(row?.data as object)).toHaveLength(21);
      }
    });
  });
}
