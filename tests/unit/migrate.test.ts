/**
 * The migrator: file loading and checksums, schema-name validation, status before and after,
 * two concurrent `migrate` calls on an empty database, and an upgrade that keeps earlier audit rows
 * (real server when it answers).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MigrationError } from "../../src/errors.ts";
import { loadMigrations, migrate, migrationStatus, renderMigration } from "../../src/sinks/sink-migrations.ts";
import { PgClient } from "../../src/postgres/pg-client.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";

describe("migration files", () => {
  it("loads the numbered files in order with sha256 checksums", () => {
    const ms = loadMigrations();
    expect(ms.map((m) => m.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    for (const m of ms) expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses a badly named file, naming it", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "mudsync-mig-"));
    try {
      writeFileSync(path.join(dir, "first.sql"), "select 1;");
      expect(() => loadMigrations(dir)).toThrow(MigrationError);
      expect(() => loadMigrations(dir)).toThrow(/first\.sql: expected a name like 001_description\.sql/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("substitutes the schema only after validating it", () => {
    expect(renderMigration("create table @schema@.t (); select @schema_text@;", "my_app")).toBe(
      `create table "my_app".t (); select 'my_app';`,
    );
    expect(() => renderMigration("", 'x"; drop table y; --')).toThrow(MigrationError);
    expect(() => renderMigration("", "Upper")).toThrow(/expected a lower-case SQL identifier/);
  });
});

const ALL = [
  "001_schema.sql", "002_apply_batch.sql", "003_conflicts.sql", "004_typed_parse.sql", "005_audit_per_batch.sql", "006_entity_tables.sql", "007_row_locks.sql",
  "008_fold_filter.sql", "009_lz4_documents.sql", "010_fold_mask.sql", "011_resolve_merged.sql", "012_apply_batch.sql", "013_own_edit_chains.sql", "014_audit_replays.sql", "015_non_object_elements.sql",
];

describe.runIf(await realPgAvailable())("migrate on the real server", () => {
  let db: TestDatabase;
  const clients: PgClient[] = [];
  beforeAll(async () => {
    db = await createTestDatabase("mudsync_migrate");
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await db?.drop();
  });

  it("two concurrent migrate calls apply each migration once; status shows pending then applied", async () => {
    const a = new PgClient({ url: db.url });
    const b = new PgClient({ url: db.url });
    clients.push(a, b);
    const before = await migrationStatus(a, { schema: "other_schema" });
    expect(before.applied).toEqual([]);
    expect(before.pending.map((m) => m.name)).toEqual(ALL);
    const [ra, rb] = await Promise.all([migrate(a, { schema: "other_schema" }), migrate(b, { schema: "other_schema" })]);
    expect([...ra.ran, ...rb.ran].sort()).toEqual(ALL);
    const after = await migrationStatus(a, { schema: "other_schema" });
    expect(after.pending).toEqual([]);
    expect(after.applied.map((m) => m.checksum)).toEqual(loadMigrations().map((m) => m.checksum));
    const { rows } = await a.query<{ r: { outcome: string }[] }>(
      `select other_schema.apply_batch('[{"id":"1","type":"add","entity":"well","entityId":"w","payload":{},"timestamp":1}]') as r`,
    );
    expect(rows[0]?.r[0]?.outcome).toBe("applied");
    const buckets = await a.query<{ v: unknown }>("select value as v from other_schema.settings where key = 'lock_buckets'");
    expect(buckets.rows[0]?.v).toBe(2147483647);
  });

  it("007 moves the default 1024 lock buckets to row locks but keeps a value an operator chose", async () => {
    const c = new PgClient({ url: db.url });
    clients.push(c);
    const dir = mkdtempSync(path.join(tmpdir(), "mudsync-mig-"));
    try {
      for (const m of loadMigrations().filter((x) => x.id <= 6)) writeFileSync(path.join(dir, m.name), m.sql);
      for (const schema of ["kept_default", "kept_choice"]) await migrate(c, { schema, dir });
      await c.query("update kept_choice.settings set value = '4096' where key = 'lock_buckets'");
      for (const schema of ["kept_default", "kept_choice"]) expect((await migrate(c, { schema })).ran).toEqual(ALL.slice(6));
      const read = async (schema: string) =>
        (await c.query<{ v: unknown }>(`select value as v from ${schema}.settings where key = 'lock_buckets'`)).rows[0]?.v;
      expect(await read("kept_default")).toBe(2147483647);
      expect(await read("kept_choice")).toBe(4096);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("008 and 010 rewrite apply_batch's fold filter in place, the fold still folds, and a definition changed by hand stops them", async () => {
    const c = new PgClient({ url: db.url });
    clients.push(c);
    const dir = mkdtempSync(path.join(tmpdir(), "mudsync-mig-"));
    const def = async (schema: string) =>
      (await c.query<{ d: string }>(`select pg_get_functiondef('${schema}.apply_batch(jsonb)'::regprocedure) as d`)).rows[0]!.d;
    // two rows with several events each, between single-event rows
    const ev = (id: string, type: string, chart: string, src: string) =>
      ({ id, type, entity: "chart_data_source", entityId: chart, payload: { id: src }, timestamp: Number(id.slice(1)) });
    const batch = [
      ev("e1", "add", "c1", "s1"), ev("e2", "add", "c2", "s1"), ev("e3", "add", "c1", "s2"),
      ev("e4", "add", "c3", "s9"), ev("e5", "remove", "c1", "s1"), ev("e6", "add", "c2", "s3"),
    ];
    const folds = async (schema: string) => {
      await c.query("begin");
      try {
        const { rows } = await c.query<{ r: { id: string; outcome: string; version: number }[] }>(
          `select ${schema}.apply_batch($1::jsonb) as r`, [JSON.stringify(batch)],
        );
        expect(rows[0]!.r.map((x) => [x.id, x.outcome, x.version])).toEqual([
          ["e1", "applied", 1], ["e2", "applied", 1], ["e3", "applied", 2], ["e4", "applied", 1], ["e5", "applied", 3], ["e6", "applied", 2],
        ]);
        const charts = await c.query<{ id: string; ids: string[] }>(
          `select id, array(select x->>'id' from jsonb_array_elements(data_source_config) x) as ids from ${schema}.charts order by id`,
        );
        expect(charts.rows).toEqual([{ id: "c1", ids: ["s2"] }, { id: "c2", ids: ["s1", "s3"] }, { id: "c3", ids: ["s9"] }]);
      } finally {
        await c.query("rollback");
      }
    };
    try {
      for (const m of loadMigrations().filter((x) => x.id <= 7)) writeFileSync(path.join(dir, m.name), m.sql);
      for (const schema of ["fold_kept", "fold_changed", "fold_late"]) await migrate(c, { schema, dir });
      for (const m of loadMigrations().filter((x) => x.id === 8)) writeFileSync(path.join(dir, m.name), m.sql);
      // an operator's own edit of the fold's join
      const changed = (await def("fold_changed")).replace("ON fi.idx = e.idx", "ON e.idx = fi.idx");
      await c.exec(changed);
      await expect(migrate(c, { schema: "fold_changed", dir })).rejects.toThrow(
        /008_fold_filter\.sql failed: migration 008: fold_changed\.apply_batch\(jsonb\) is not the definition this migration expects/,
      );
      expect((await migrationStatus(c, { schema: "fold_changed", dir })).pending.map((m) => m.name)).toEqual(["008_fold_filter.sql"]);
      expect(await def("fold_changed")).toBe(changed);

      for (const schema of ["fold_kept", "fold_late"]) expect((await migrate(c, { schema, dir })).ran).toEqual(["008_fold_filter.sql"]);
      const after008 = await def("fold_kept");
      expect(after008).toContain("WHERE e.idx = ANY (fold_idx) AND e.reason IS NULL");
      expect(after008).not.toContain("unnest(fold_idx)");
      await folds("fold_kept");

      // 010: the same fold, through a mask by position
      const changed008 = (await def("fold_late")).replace("WHERE e.idx = ANY (fold_idx) AND", "WHERE fold_idx @> ARRAY[e.idx] AND");
      await c.exec(changed008);
      await expect(migrate(c, { schema: "fold_late" })).rejects.toThrow(
        /010_fold_mask\.sql failed: migration 010: fold_late\.apply_batch\(jsonb\) is not the definition this migration expects \(edit 3 of 3 does not apply\)/,
      );
      expect(await def("fold_late")).toBe(changed008);
      expect((await migrate(c, { schema: "fold_kept" })).ran).toEqual(ALL.slice(8));
      const after010 = await def("fold_kept");
      expect(after010).toContain("WHERE fold_mask[e.idx] AND e.reason IS NULL");
      expect(after010).not.toContain("= ANY (fold_idx)");
      expect(after010).toContain("force_generic_plan");
      await folds("fold_kept");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("upgrading past 005 keeps the audit rows written before it, one per decision in audit_log", async () => {
    const c = new PgClient({ url: db.url });
    clients.push(c);
    const dir = mkdtempSync(path.join(tmpdir(), "mudsync-mig-"));
    try {
      for (const m of loadMigrations().filter((x) => x.id <= 3)) writeFileSync(path.join(dir, m.name), m.sql);
      await migrate(c, { schema: "upgraded", dir });
      const batch = (ids: string[]) =>
        JSON.stringify(ids.map((id) => ({ id, type: "add", entity: "well", entityId: `w-${id}`, payload: {}, timestamp: 1 })));
      await c.query(`select upgraded.apply_batch($1::jsonb)`, [batch(["old-1", "old-2"])]);
      const up = await migrate(c, { schema: "upgraded" });
      expect(up.ran).toEqual(ALL.slice(3));
      await c.query(`select upgraded.apply_batch($1::jsonb)`, [batch(["new-1", "old-1", "new-2"])]);
      const { rows } = await c.query<{ event_id: string; decision: string; position_in_batch: number | null }>(
        // (rows written before 005 have no position: ordered by event id)
        "select event_id, decision, position_in_batch from upgraded.audit_log order by position_in_batch nulls first, event_id",
      );
      expect(rows).toEqual([
        { event_id: "old-1", decision: "applied", position_in_batch: null },
        { event_id: "old-2", decision: "applied", position_in_batch: null },
        { event_id: "new-1", decision: "applied", position_in_batch: 1 },
        { event_id: "old-1", decision: "duplicate", position_in_batch: 2 },
        { event_id: "new-2", decision: "applied", position_in_batch: 3 },
      ]);
      const records = await c.query<{ n: string }>("select count(*) as n from upgraded.audit_records");
      expect(records.rows[0]?.n).toBe("3");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
