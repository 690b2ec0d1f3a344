/**
 * The contract every sink passes, whatever carries its batches (pg, PGlite, Supabase through
 * PostgREST): semantics of apply_batch per entity, idempotency, conflicts, ordering, limits,
 * hostile strings, reads, realtime, dry runs, parked conflicts and concurrent drains.
 * Writes go through `sink.applyBatch` only; every assertion on server state reads the database
 * through `inspect`, a direct SQL connection beside the sink. A target's profile says what its
 * sink offers (checked against the live sink by the first case) and gates the cases that need it
 * (those are in sink-contract-capabilities.ts; targets, profiles and shared reads in sink-target.ts).
 */
import { appendFileSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sink, WireEvent } from "../../src/core/ports.ts";
import { MigrationError, UsageError } from "../../src/errors.ts";
import { MIGRATIONS_DIR, loadMigrations, migrationStatus } from "../../src/sinks/sink-migrations.ts";
import type { SqlQueryable } from "../../src/postgres/sql-client.ts";
import { capabilityCases } from "./sink-contract-capabilities.ts";
import { ContractContext, ev, ids, type SinkProfile, type SinkTarget } from "./sink-target.ts";

export type { SinkProfile, SinkTarget } from "./sink-target.ts";

const CONFLICT_METHODS = ["parkConflicts", "listConflicts", "getConflict", "resolveConflict"] as const;

export function sinkContract(name: string, factory: () => Promise<SinkTarget>, profile: SinkProfile): void {
  describe(`sink contract: ${name}`, () => {
    const c = new ContractContext(profile);
    const { q, by, serverRow, count, ledgerCount } = c;
    let sink: Sink;
    let inspect: SqlQueryable;

    beforeAll(async () => {
      c.target = await factory();
      ({ sink, inspect } = c.target);
    });
    afterAll(async () => {
      await c.target?.cleanup();
    });

    it("reports the capabilities and optional methods of its profile", () => {
      expect(sink.capabilities).toEqual(profile.capabilities);
      for (const m of CONFLICT_METHODS) expect([m, typeof sink[m]]).toEqual([m, profile.parksConflicts ? "function" : "undefined"]);
      expect(c.target?.feed !== undefined).toBe(profile.capabilities.supportsListen);
    });

    it("the server behind it has every migration applied, unchanged", async () => {
      const state = await migrationStatus(inspect, { schema: profile.schema });
      expect(state.pending).toEqual([]);
      expect(state.applied.map((m) => [m.name, m.checksum])).toEqual(loadMigrations().map((m) => [m.name, m.checksum]));
    });

    it("refuses a migration whose statements changed after it was applied, naming the file; a comment may change", async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "mudsync-migrations-"));
      try {
        cpSync(MIGRATIONS_DIR, dir, { recursive: true });
        // a comment alone may change; a statement may not
        appendFileSync(path.join(dir, "002_apply_batch.sql"), "\n-- edited\n");
        await expect(migrationStatus(inspect, { schema: profile.schema, dir })).resolves.toMatchObject({ pending: [] });
        appendFileSync(path.join(dir, "002_apply_batch.sql"), "SELECT 1;\n");
        const err = await migrationStatus(inspect, { schema: profile.schema, dir }).catch((e: unknown) => e);
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
        expect(await serverRow(entity, k.row(1))).toMatchObject({ entity, id: k.row(1), version: 2, data: { name: "a", nested: { y: 2 }, depth: 5 } });
        const r3 = await sink.applyBatch([ev({ id: k.ev(3), type: "remove", entity, entityId: k.row(1), baseVersion: 2 })]);
        expect(r3[0]).toMatchObject({ outcome: "applied", version: 3 });
        expect(await serverRow(entity, k.row(1))).toBeNull();
        // remove of a missing row: applied, nothing changes
        const r4 = await sink.applyBatch([ev({ id: k.ev(4), type: "remove", entity, entityId: k.row(2) })]);
        expect(r4[0]?.outcome).toBe("applied");
        expect(await serverRow(entity, k.row(2))).toBeNull();
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
      expect(await serverRow("chart_data_source", chart)).toMatchObject({ version: 5, data: [{ id: "s1", on: false }] });
      // removing from a chart that does not exist creates nothing
      const r2 = await sink.applyBatch([
        ev({ id: k.ev(7), type: "remove", entity: "chart_data_source", entityId: k.row("none"), payload: { id: "s1" } }),
      ]);
      expect(r2[0]?.outcome).toBe("applied");
      expect(await serverRow("chart_data_source", k.row("none"))).toBeNull();
    });

    it("last-writer-wins without baseVersion; update of a missing row upserts", async () => {
      const k = ids("lww");
      await sink.applyBatch([ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: { a: 1 } })]);
      const r = await sink.applyBatch([
        ev({ id: k.ev(2), type: "add", entity: "well", entityId: k.row(1), payload: { b: 2 } }),
        ev({ id: k.ev(3), type: "update", entity: "well", entityId: k.row(2), payload: { c: 3 } }),
      ]);
      expect(r.map((x) => x.outcome)).toEqual(["applied", "applied"]);
      expect((await serverRow("well", k.row(1)))?.data).toEqual({ b: 2 });
      expect(await serverRow("well", k.row(2))).toMatchObject({ version: 1, data: { c: 3 } });
    });

    it("an empty batch returns no results and writes nothing", async () => {
      const before = await count(`select count(*) as n from ${q}.applied_events`, []);
      expect(await sink.applyBatch([])).toEqual([]);
      expect(await count(`select count(*) as n from ${q}.applied_events`, [])).toBe(before);
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
      expect(await serverRow("well", k.row(1))).toMatchObject({ version: 2, data: { a: 2 } });
      // the same id twice inside one batch: the second is a duplicate of the first
      const twice = await sink.applyBatch([
        ev({ id: k.ev(3), type: "add", entity: "well", entityId: k.row(3), payload: {} }),
        ev({ id: k.ev(3), type: "add", entity: "well", entityId: k.row(3), payload: {} }),
      ]);
      expect(twice.map((x) => x.outcome)).toEqual(["applied", "duplicate"]);
      expect(await ledgerCount(k.ev(3))).toBe(1);
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
      // a missing row: no version, and no current row (null or left out)
      expect(r[1]).toMatchObject({ id: k.ev(4), outcome: "conflict" });
      expect(r[1]?.version).toBeUndefined();
      expect(r[1]?.current ?? null).toBeNull();
      expect(await serverRow("polygon", k.row(1))).toMatchObject({ version: 2, data: { p: 2 } });
      expect(await serverRow("polygon", k.row(2))).toBeNull();
      // a conflict is not recorded as applied: the event can be resolved and applied later
      expect(await ledgerCount(k.ev(3))).toBe(0);
    });

    it("a client's consecutive edits made on one version all apply in one batch; another client's edit between them still conflicts", async () => {
      const k = ids("chain");
      const chart = (id: string, entry: string) => ({ type: "add" as const, entity: "chart_data_source", entityId: id, payload: { id: entry, label: entry } });
      await sink.applyBatch([ev({ id: k.ev(1), ...chart(k.row(1), "a"), clientId: "x" }), ev({ id: k.ev(2), ...chart(k.row(2), "a"), clientId: "x" })]);
      // the same client toggles three entries of row 1 while it has seen v1: one chain, all applied
      const own = await sink.applyBatch([
        ev({ id: k.ev(3), ...chart(k.row(1), "b"), clientId: "t", seq: 1, baseVersion: 1 }),
        ev({ id: k.ev(4), ...chart(k.row(1), "c"), clientId: "t", seq: 2, baseVersion: 1 }),
        ev({ id: k.ev(5), type: "remove", entity: "chart_data_source", entityId: k.row(1), payload: { id: "a" }, clientId: "t", seq: 3, baseVersion: 1 }),
      ]);
      expect(own.map((x) => [x.outcome, x.version])).toEqual([["applied", 2], ["applied", 3], ["applied", 4]]);
      // row 2: client "a" (ordered first) edits it in the same batch; client "t"'s first edit made on v1
      // conflicts, and its second waits behind it
      const crossed = await sink.applyBatch([
        ev({ id: k.ev(6), ...chart(k.row(2), "b"), clientId: "t", seq: 4, baseVersion: 1 }),
        ev({ id: k.ev(7), ...chart(k.row(2), "c"), clientId: "t", seq: 5, baseVersion: 1 }),
        ev({ id: k.ev(8), ...chart(k.row(2), "z"), clientId: "a", seq: 1, baseVersion: 1 }),
      ]);
      expect(crossed.map((x) => x.outcome)).toEqual(["conflict", "deferred", "applied"]);
      // once an edit of a chain conflicts, the client's later edits of the row wait for it (deferred),
      // even one made on the current version: applied now, it would land before the earlier edit
      const stale = await sink.applyBatch([
        ev({ id: k.ev(9), ...chart(k.row(1), "d"), clientId: "u", seq: 1, baseVersion: 2 }),
        ev({ id: k.ev(10), ...chart(k.row(1), "e"), clientId: "u", seq: 2, baseVersion: 4 }),
        ev({ id: k.ev(11), ...chart(k.row(2), "e"), clientId: "u", seq: 3, baseVersion: 4 }),
      ]);
      expect(stale.map((x) => x.outcome)).toEqual(["conflict", "deferred", "applied"]);
      expect(stale[1]).toEqual({ id: k.ev(10), outcome: "deferred" });
      expect(await ledgerCount(k.ev(10))).toBe(0);
      expect((await serverRow("chart_data_source", k.row(1)))?.version).toBe(4);
      // sent again (the first rebased by its strategy), both apply in order
      const again = await sink.applyBatch([
        ev({ id: k.ev(9), ...chart(k.row(1), "d"), clientId: "u", seq: 1, baseVersion: 4 }),
        ev({ id: k.ev(10), ...chart(k.row(1), "e"), clientId: "u", seq: 2, baseVersion: 4 }),
      ]);
      expect(again.map((x) => [x.outcome, x.version])).toEqual([["applied", 5], ["applied", 6]]);
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
      expect(await serverRow("well", k.row(1))).toMatchObject({ version: 1, data: { ok: true } });
      expect(await serverRow("curve", k.row(9))).toMatchObject({ version: 1, data: { ok: 1 } });
      for (const n of [4, 5, 6, 7]) expect(await serverRow("well", k.row(n))).toBeNull();
      const audited = await inspect.query<{ decision: string; reason: string | null }>(
        `select decision, reason from ${q}.audit_log where event_id = $1`,
        [k.ev(2)],
      );
      expect(audited.rows).toEqual([{ decision: "rejected", reason: expect.stringContaining("unknown entity") }]);
    });

    it("audits every decision of a batch once, in batch order, in one audit record", async () => {
      const k = ids("audit");
      await sink.applyBatch([
        ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: { a: 1 } }),
        ev({ id: k.ev(2), type: "add", entity: "no_such_entity", entityId: k.row(2) }),
        ev({ id: k.ev(3), type: "update", entity: "curve", entityId: k.row(3), payload: { b: 2 } }),
      ]);
      await sink.applyBatch([ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: { a: 1 } })]);
      const { rows } = await inspect.query<{ event_id: string; decision: string; position_in_batch: number; batch_id: string }>(
        `select event_id, decision, position_in_batch, batch_id from ${q}.audit_log where event_id = any($1) order by id, position_in_batch`,
        [[k.ev(1), k.ev(2), k.ev(3)]],
      );
      expect(rows.map((r) => [r.event_id, r.decision, r.position_in_batch])).toEqual([
        [k.ev(1), "applied", 1], [k.ev(2), "rejected", 2], [k.ev(3), "applied", 3], [k.ev(1), "duplicate", 1],
      ]);
      expect(await count(`select count(*) as n from ${q}.audit_records where batch_id = $1`, [rows[0]?.batch_id])).toBe(1);
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
      expect(await serverRow("well", row)).toMatchObject({ version: 5, data: { last: "b3", a: true, b1: true }, updatedBy: by("b") });
    });

    it("records coalesced ids as applied with the same version, so replaying any of them is a duplicate", async () => {
      const k = ids("coal");
      const r = await sink.applyBatch([
        { ...ev({ id: k.ev(3), type: "add", entity: "well", entityId: k.row(1), payload: { v: 3 } }), coalesced: [k.ev(1), k.ev(2)] },
      ]);
      expect(r[0]).toEqual({ id: k.ev(3), outcome: "applied", version: 1 });
      const replay = await sink.applyBatch([ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: { v: 1 } })]);
      expect(replay[0]).toEqual({ id: k.ev(1), outcome: "duplicate", version: 1 });
      const { rows } = await inspect.query<{ event_id: string; version: string; outcome: string }>(
        `select event_id, version::text, outcome from ${q}.applied_events where event_id = any($1) order by event_id`,
        [[k.ev(1), k.ev(2), k.ev(3)]],
      );
      expect(rows).toEqual([1, 2, 3].map((n) => ({ event_id: k.ev(n), version: "1", outcome: "applied" })));
      expect((await serverRow("well", k.row(1)))?.data).toEqual({ v: 3 });
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
      const len = await count(`select length(doc ->> 'blob') as n from ${q}.curves where id = $1`, [k.row(1)]);
      expect(len).toBe(1_000_000);
      expect(await serverRow("curve", k.row(2))).toBeNull();
    });

    it("keeps unicode and SQL-looking strings intact in every text field, entity names included", async () => {
      const nasty = ["'); drop table x; --", 'say "hi"', "back\\slash", "émoji 🛢️ ünïcødé 井", "%I %L $1 $$ $fn$"];
      const entity = `"); drop table x; -- 🛢️ ${Date.now().toString(36)}`;
      await inspect.query(`select ${q}.register_entity($1, $2, 'document')`, [entity, `t "weird" ${Date.now().toString(36)}`]);
      const k = ids("nasty");
      for (const [i, s] of nasty.entries()) {
        const payload = { [s]: s, nested: { [s]: [s] } };
        const r = await sink.applyBatch([
          ev({ id: `${k.ev(i)}${s}`, type: "add", entity: "well", entityId: `${k.row(i)}${s}`, payload, clientId: s }),
          ev({ id: `${k.ev(i)}${s}-dyn`, type: "add", entity, entityId: `${k.row(i)}${s}`, payload, clientId: s }),
          ev({ id: `${k.ev(i)}${s}-c`, type: "add", entity: "chart_data_source", entityId: `${k.row(i)}${s}`, payload: { id: s, s } }),
          ev({ id: `${k.ev(i)}${s}-bad`, type: "add", entity: s, entityId: s, payload }),
        ]);
        expect(r.map((x) => [x.id, x.outcome])).toEqual([
          [`${k.ev(i)}${s}`, "applied"], [`${k.ev(i)}${s}-dyn`, "applied"], [`${k.ev(i)}${s}-c`, "applied"], [`${k.ev(i)}${s}-bad`, "rejected"],
        ]);
        expect(await serverRow("well", `${k.row(i)}${s}`)).toMatchObject({ data: payload, updatedBy: by(s) });
        expect(await serverRow(entity, `${k.row(i)}${s}`)).toMatchObject({ entity, data: payload, version: 1 });
        expect((await serverRow("chart_data_source", `${k.row(i)}${s}`))?.data).toEqual([{ id: s, s }]);
        expect(await ledgerCount(`${k.ev(i)}${s}`)).toBe(1);
      }
      // the registry-added entity folds several events of one row too (dynamic path)
      const r = await sink.applyBatch([
        ev({ id: k.ev("d1"), type: "update", entity, entityId: k.row("d"), payload: { a: 1 }, seq: 1 }),
        ev({ id: k.ev("d2"), type: "update", entity, entityId: k.row("d"), payload: { b: 2 }, seq: 2 }),
      ]);
      expect(r.map((x) => x.version)).toEqual([1, 2]);
      expect((await serverRow(entity, k.row("d")))?.data).toEqual({ a: 1, b: 2 });
      expect(await count("select count(*) as n from information_schema.tables where table_name = 'x'", [])).toBe(0);
    });

    it("stores row data with lz4 where the server has it (pglz otherwise), registered tables included, and reads it back whole", async () => {
      // the method by name, and as pg_attribute.attcompression records it (empty: the default, pglz)
      const [method, attcode] = profile.lz4 ? ["lz4", "l"] : ["pglz", ""];
      const attcompression = async (table: string, column: string) =>
        (await inspect.query<{ c: string }>(
          `select a.attcompression::text as c from pg_attribute a where a.attrelid = format('%I.%I', $1::text, $2::text)::regclass and a.attname = $3`,
          [profile.schema, table, column],
        )).rows[0]?.c;
      const columns: [string, string][] = [["charts", "data_source_config"], ["wells", "doc"], ["polygons", "doc"], ["curves", "doc"]];
      for (const [table, column] of columns) {
        expect([table, await attcompression(table, column)]).toEqual([table, attcode]);
      }
      // a chart whose entries are well over the TOAST threshold (~2 kB) is compressed on write
      const k = ids("lz4");
      const entries = Array.from({ length: 80 }, (_, i) => ({ id: `source-${i}`, label: `gamma ray, run ${i % 7}`, on: i % 3 === 0 }));
      const r = await sink.applyBatch(entries.map((payload, i) => ev({ id: k.ev(i), type: "add", entity: "chart_data_source", entityId: k.row(1), payload, seq: i })));
      expect(r.every((x) => x.outcome === "applied")).toBe(true);
      const stored = await inspect.query<{ m: string | null }>(`select pg_column_compression(data_source_config) as m from ${q}.charts where id = $1`, [k.row(1)]);
      expect(stored.rows[0]?.m).toBe(method);
      expect((await serverRow("chart_data_source", k.row(1)))?.data).toEqual(entries);
      // register_entity: a table it creates gets the same method; a table that already existed keeps its own
      const created = `lz4 new ${Date.now().toString(36)}`;
      const existing = `lz4 own ${Date.now().toString(36)}`;
      await inspect.query(`create table ${q}."${existing}" (id text primary key, doc jsonb not null, version bigint not null, updated_at timestamptz not null default now(), updated_by text)`, []);
      await inspect.query(`select ${q}.register_entity($1, $2, 'document')`, [`${created} entity`, created]);
      await inspect.query(`select ${q}.register_entity($1, $2, 'document')`, [`${existing} entity`, existing]);
      expect(await attcompression(created, "doc")).toBe(attcode);
      expect(await attcompression(existing, "doc")).toBe("");
    });

    it("getRow reads what the server holds: every entity, null when missing, usage error when unknown", async () => {
      const k = ids("read");
      const s = "émoji 🛢️ '); --";
      await sink.applyBatch([
        ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(s), payload: { name: s, n: 1.5 }, clientId: "reader" }),
        ev({ id: k.ev(2), type: "update", entity: "well", entityId: k.row(s), payload: { deep: { list: [1, null, "x"] } }, clientId: "reader", seq: 2 }),
        ev({ id: k.ev(3), type: "add", entity: "polygon", entityId: k.row(2), payload: { points: [[0, 0], [1, 1]] } }),
        ev({ id: k.ev(4), type: "add", entity: "curve", entityId: k.row(3), payload: {} }),
        ev({ id: k.ev(5), type: "add", entity: "chart_data_source", entityId: k.row(4), payload: { id: s, on: true } }),
      ]);
      const rows: [string, string][] = [["well", k.row(s)], ["polygon", k.row(2)], ["curve", k.row(3)], ["chart_data_source", k.row(4)]];
      for (const [entity, id] of rows) {
        const held = await serverRow(entity, id);
        expect(held).not.toBeNull();
        expect(await sink.getRow(entity, id)).toEqual(held);
      }
      expect(await sink.getRow("well", k.row(s))).toMatchObject({ version: 2, updatedBy: by("reader"), data: { name: s, n: 1.5, deep: { list: [1, null, "x"] } } });
      expect(await sink.getRow("curve", k.row("missing"))).toBeNull();
      await expect(sink.getRow("no_such_thing", "1")).rejects.toThrow(UsageError);
      await expect(sink.getRow("no_such_thing", "1")).rejects.toThrow(/unknown entity "no_such_thing"/);
    });

    capabilityCases(c);
  });
}
