/**
 * The contract every sink passes, whatever carries its batches (pg, PGlite, Supabase through
 * PostgREST): semantics of apply_batch per entity, idempotency, conflicts, ordering, limits,
 * hostile strings, reads, realtime, dry runs, parked conflicts and concurrent drains.
 * Writes go through `sink.applyBatch` only; every assertion on server state reads the database
 * through `inspect`, a direct SQL connection beside the sink. A target's profile says what its
 * sink offers (checked against the live sink by the first case) and gates the cases that need it.
 */
import { appendFileSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApplyResult, ChangeFeed, RowChange, RowState, Sink, SinkCapabilities, WireEvent } from "../../src/core/ports.ts";
import { MigrationError, PermanentSinkError, UsageError } from "../../src/errors.ts";
import { MIGRATIONS_DIR, loadMigrations, migrationStatus } from "../../src/sinks/migrate.ts";
import type { SqlQueryable } from "../../src/sinks/pg/sql-client.ts";

export interface SinkTarget {
  sink: Sink;
  /** a direct SQL connection to the sink's database, for assertions and setup (as the owner, no RLS) */
  inspect: SqlQueryable;
  /** the change feed a consumer of this sink follows; required when capabilities.supportsListen */
  feed?: ChangeFeed;
  cleanup(): Promise<void>;
}

export interface SinkProfile {
  /** Postgres schema holding the tables and functions */
  schema: string;
  /** what the sink reports; gates the dry-run and realtime cases */
  capabilities: SinkCapabilities;
  /** parkConflicts / listConflicts / getConflict / resolveConflict are offered */
  parksConflicts: boolean;
  /** a real server with many sessions behind the sink: run the concurrent-batches case */
  concurrent: boolean;
  /** who the server records as author of the sink's writes (an authenticated user); default: each event's clientId */
  author?: string;
  /** the feed reports a delete with only entity, id and op (Supabase Realtime without REPLICA IDENTITY FULL) */
  deletesByKeyOnly?: boolean;
}

let seq = 0;
function ids(label: string) {
  const p = `${label}-${Date.now().toString(36)}-${(seq += 1)}`;
  return { ev: (n: number | string) => `${p}-e${n}`, row: (n: number | string) => `${p}-r${n}` };
}

function ev(e: Partial<WireEvent> & Pick<WireEvent, "id" | "type" | "entity" | "entityId">): WireEvent {
  return { payload: {}, timestamp: 1_700_000_000_000, ...e };
}

/** get_row's jsonb -> RowState, as a sink reports it (no updatedAt/updatedBy keys when null). */
function asRowState(v: unknown): RowState | null {
  if (v === null || v === undefined) return null;
  const o = v as Record<string, unknown>;
  return {
    entity: String(o.entity),
    id: String(o.id),
    version: Number(o.version),
    data: o.data,
    ...(o.updatedAt ? { updatedAt: String(o.updatedAt) } : {}),
    ...(o.updatedBy ? { updatedBy: String(o.updatedBy) } : {}),
  };
}

const CONFLICT_METHODS = ["parkConflicts", "listConflicts", "getConflict", "resolveConflict"] as const;

export function sinkContract(name: string, factory: () => Promise<SinkTarget>, profile: SinkProfile): void {
  describe(`sink contract: ${name}`, () => {
    let t: SinkTarget | undefined;
    let sink: Sink;
    let inspect: SqlQueryable;
    const q = `"${profile.schema}"`;
    const by = (clientId: string) => profile.author ?? clientId;

    /** The row as the server holds it, read beside the sink. */
    const serverRow = async (entity: string, id: string) =>
      asRowState((await inspect.query<{ r: unknown }>(`select ${q}.get_row($1, $2) as r`, [entity, id])).rows[0]?.r);
    const count = async (sql: string, params: unknown[]) =>
      Number((await inspect.query<{ n: string | number }>(sql, params)).rows[0]?.n);
    const ledgerCount = (eventId: string) => count(`select count(*) as n from ${q}.applied_events where event_id = $1`, [eventId]);

    beforeAll(async () => {
      t = await factory();
      sink = t.sink;
      inspect = t.inspect;
    });
    afterAll(async () => {
      await t?.cleanup();
    });

    it("reports the capabilities and optional methods of its profile", () => {
      expect(sink.capabilities).toEqual(profile.capabilities);
      for (const m of CONFLICT_METHODS) expect([m, typeof sink[m]]).toEqual([m, profile.parksConflicts ? "function" : "undefined"]);
      expect(t?.feed !== undefined).toBe(profile.capabilities.supportsListen);
    });

    it("the server behind it has every migration applied, unchanged", async () => {
      const state = await migrationStatus(inspect, { schema: profile.schema });
      expect(state.pending).toEqual([]);
      expect(state.applied.map((m) => [m.name, m.checksum])).toEqual(loadMigrations().map((m) => [m.name, m.checksum]));
    });

    it("refuses a migration whose file changed after it was applied, naming the file", async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "mudsync-migrations-"));
      try {
        cpSync(MIGRATIONS_DIR, dir, { recursive: true });
        appendFileSync(path.join(dir, "002_apply_batch.sql"), "\n-- edited\n");
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

    it.runIf(profile.capabilities.supportsListen)(
      "its change feed publishes each committed change (entity, id, version, op, changedBy)",
      async () => {
        const k = ids("notify");
        const seen: RowChange[] = [];
        const stop = await t!.feed!.subscribe((c) => {
          if (c.id.startsWith(k.row(""))) seen.push(c);
        });
        try {
          await sink.applyBatch([ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: {}, clientId: "cli-1" })]);
          await sink.applyBatch([
            ev({ id: k.ev(2), type: "update", entity: "well", entityId: k.row(1), payload: { a: 1 }, clientId: "cli-2" }),
            ev({ id: k.ev(3), type: "add", entity: "chart_data_source", entityId: k.row(2), payload: { id: "s" }, clientId: "cli-2" }),
          ]);
          await sink.applyBatch([ev({ id: k.ev(4), type: "remove", entity: "well", entityId: k.row(1), clientId: "cli-3" })]);
          for (let i = 0; i < 250 && seen.length < 4; i++) await new Promise((r) => setTimeout(r, 20));
          const deleted = { entity: "well", id: k.row(1), op: "delete" } as const;
          expect(seen).toEqual(
            expect.arrayContaining([
              { entity: "well", id: k.row(1), version: 1, op: "insert", changedBy: by("cli-1") },
              { entity: "well", id: k.row(1), version: 2, op: "update", changedBy: by("cli-2") },
              { entity: "chart_data_source", id: k.row(2), version: 1, op: "insert", changedBy: by("cli-2") },
              profile.deletesByKeyOnly ? expect.objectContaining(deleted) : { ...deleted, version: 3, changedBy: by("cli-3") },
            ]),
          );
          expect(seen).toHaveLength(4);
        } finally {
          await stop();
        }
      },
    );

    it.runIf(profile.capabilities.supportsDryRun)("a dry run reports before and after and changes nothing", async () => {
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
      expect(await serverRow("well", k.row(1))).toMatchObject({ version: 1, data: { a: 1 } });
      expect(await serverRow("polygon", k.row(2))).toBeNull();
      expect(await ledgerCount(k.ev(2))).toBe(0);
      expect((await sink.applyBatch(events)).map((r) => r.outcome)).toEqual(["applied", "applied", "rejected"]);
    });

    it.runIf(!profile.capabilities.supportsDryRun)("a sink without dry runs refuses one with a usage error and changes nothing", async () => {
      const k = ids("nodry");
      const err = await sink.dryRun([ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: { a: 1 } })]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(new RegExp(`^dry run is not supported by the ${sink.name} sink`));
      expect(await serverRow("well", k.row(1))).toBeNull();
      expect(await ledgerCount(k.ev(1))).toBe(0);
    });

    it.runIf(profile.parksConflicts)("parks conflicts and resolves them atomically, with every step audited", async () => {
      const { parkConflicts, getConflict, listConflicts, resolveConflict } = conflictMethods(sink);
      const k = ids("park");
      await sink.applyBatch([
        ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: { a: 1, b: 1 } }),
        ev({ id: k.ev(2), type: "update", entity: "well", entityId: k.row(1), payload: { a: 2 }, seq: 2 }),
      ]);
      const local = ev({ id: k.ev(3), type: "update", entity: "well", entityId: k.row(1), payload: { b: 9 }, baseVersion: 1, clientId: "me" });
      const other = ev({ id: k.ev(4), type: "update", entity: "well", entityId: k.row(1), payload: { b: 7 }, baseVersion: 1 });
      const [c1, c2] = await sink.applyBatch([local, other]);
      expect(c1?.outcome).toBe("conflict");
      const parked = await parkConflicts([
        { event: local, current: c1?.current ?? null },
        { event: other, current: c2?.current ?? null },
      ]);
      expect(parked.map((p) => p.eventId)).toEqual([k.ev(3), k.ev(4)]);
      // parking again is idempotent
      expect(await parkConflicts([{ event: local, current: c1?.current ?? null }])).toEqual([parked[0]]);
      const id1 = parked[0]!.conflictId;
      const id2 = parked[1]!.conflictId;
      expect(await count(`select count(*) as n from ${q}.conflicts where event_id = any($1) and status = 'open'`, [[k.ev(3), k.ev(4)]])).toBe(2);
      expect(await getConflict(id1)).toMatchObject({ eventId: k.ev(3), status: "open", baseVersion: 1, currentVersion: 2, local: { payload: { b: 9 } } });
      expect((await listConflicts({ status: "open" })).map((c) => c.id)).toEqual(expect.arrayContaining([id1, id2]));

      const res = await resolveConflict(id1, "local", undefined, "alice");
      expect(res).toMatchObject({ conflictId: id1, take: "local", result: { outcome: "applied", version: 3 } });
      expect(res.row).toMatchObject({ version: 3, data: { a: 2, b: 9 } });
      const res2 = await resolveConflict(id2, "remote", undefined, "bob");
      expect(res2.result).toMatchObject({ outcome: "resolved", version: 3 });
      expect(await serverRow("well", k.row(1))).toMatchObject({ version: 3, data: { a: 2, b: 9 } });
      expect(await getConflict(id2)).toMatchObject({ status: "resolved", resolution: "remote", resolvedBy: "bob" });
      await expect(resolveConflict(id1, "remote")).rejects.toThrow(PermanentSinkError);
      await expect(resolveConflict(id1, "remote")).rejects.toThrow(/already resolved/);
      // both event ids now replay as duplicates
      expect((await sink.applyBatch([local, other])).map((r) => r.outcome)).toEqual(["duplicate", "duplicate"]);
      const { rows } = await inspect.query<{ event_id: string; decision: string; actor: string | null }>(
        `select event_id, decision, actor from ${q}.audit_log where event_id = any($1) order by id`,
        [[k.ev(3), k.ev(4)]],
      );
      expect(rows.filter((r) => r.event_id === k.ev(3)).map((r) => r.decision)).toEqual([
        "conflict", "parked", "applied", "resolved", "duplicate",
      ]);
      expect(rows.find((r) => r.event_id === k.ev(4) && r.decision === "resolved")?.actor).toBe("bob");

      // merged: the merged document is written
      const third = ev({ id: k.ev(5), type: "update", entity: "well", entityId: k.row(1), payload: { c: 1 }, baseVersion: 1 });
      const [c3] = await sink.applyBatch([third]);
      const [p3] = await parkConflicts([{ event: third, current: c3?.current ?? null }]);
      const res3 = await resolveConflict(p3!.conflictId, "merged", { a: 2, b: 9, c: 1 }, "carol");
      expect(res3.row).toMatchObject({ version: 4, data: { a: 2, b: 9, c: 1 } });
      expect(await serverRow("well", k.row(1))).toMatchObject({ version: 4, data: { a: 2, b: 9, c: 1 } });
    });

    it.runIf(profile.concurrent)("10 concurrent batches on the same rows: no deadlock, no lost update", async () => {
      const k = ids("conc");
      const rows = [1, 2, 3, 4, 5].map((n) => k.row(n));
      await sink.applyBatch(rows.map((r, i) => ev({ id: k.ev(`init${i}`), type: "add", entity: "well", entityId: r, payload: { n: 0 } })));
      const batches = Array.from({ length: 10 }, (_, b) =>
        // odd batches touch the rows in reverse order
        (b % 2 ? [...rows].reverse() : rows).flatMap((r, i) => [
          ev({ id: k.ev(`${b}-${i}-a`), type: "update", entity: "well", entityId: r, payload: { [`b${b}`]: 1 }, clientId: `c${b}`, seq: 1 }),
          ev({ id: k.ev(`${b}-${i}-b`), type: "update", entity: "well", entityId: r, payload: { [`b${b}x`]: 1 }, clientId: `c${b}`, seq: 2 }),
        ]),
      );
      const results: ApplyResult[][] = await Promise.all(batches.map((b) => sink.applyBatch(b)));
      expect(results.flat().filter((r) => r.outcome !== "applied")).toEqual([]);
      for (const r of rows) {
        const row = await serverRow("well", r);
        expect(row?.version).toBe(21);
        expect(Object.keys(row?.data as object).sort()).toEqual(
          ["n", ...Array.from({ length: 10 }, (_, b) => [`b${b}`, `b${b}x`]).flat()].sort(),
        );
      }
      expect(await count(`select count(*) as n from ${q}.applied_events where event_id like $1`, [`${k.ev("")}%`])).toBe(105);
    });
  });
}

/** The optional conflict methods, bound; only called where the profile says they exist. */
function conflictMethods(sink: Sink) {
  const { parkConflicts, listConflicts, getConflict, resolveConflict } = sink;
  if (!parkConflicts || !listConflicts || !getConflict || !resolveConflict) throw new Error(`${sink.name} sink does not park conflicts`);
  return {
    parkConflicts: parkConflicts.bind(sink),
    listConflicts: listConflicts.bind(sink),
    getConflict: getConflict.bind(sink),
    resolveConflict: resolveConflict.bind(sink),
  };
}
