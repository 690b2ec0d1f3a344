/**
 * `conflicts ls|show|resolve` through the real binary, on the embedded database and on the real
 * server: one store edits every built-in entity twice from the same base version, the second edit
 * of each row is parked (`--strategy manual`), and each is resolved with one of the three sides.
 */
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgliteSink } from "../../src/sinks/pglite/pglite-sink.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { errorLines, run, tempDirs } from "./queue-run.ts";

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

type Take = "local" | "remote" | "merged";
const TAKES: Take[] = ["local", "remote", "merged"];
const CHART = "chart_data_source";
const ALL_ENTITIES = ["well", "polygon", "curve", CHART];
const documentsOf = (entities: readonly string[]) => entities.filter((e) => e !== CHART);

const SEED_DOC = { name: "A-7", status: "drilling", depth_m: 1000 };
const FIRST_EDIT = { status: "completed", depth_m: 1200 };
const PARKED_EDIT = { depth_m: 1350 };
const SEED_ENTRIES = [
  { id: "e1", label: "Oil", color: "red" },
  { id: "e2", label: "Gas", color: "blue" },
];

interface Ev {
  id: string;
  type: "add" | "update" | "remove";
  entity: string;
  entityId: string;
  payload: Record<string, unknown>;
  baseVersion?: number;
  clientId?: string;
}

const ndjson = (events: Ev[]) => events.map((e) => JSON.stringify(e)).join("\n") + "\n";

/** The rows every scenario starts from (version 1 documents, version 2 charts). */
function seedEvents(entities: readonly string[]): Ev[] {
  const out: Ev[] = [];
  for (const take of TAKES) {
    for (const entity of documentsOf(entities)) out.push({ id: `seed-${entity}-${take}`, type: "add", entity, entityId: `${entity}-${take}`, payload: SEED_DOC });
    if (entities.includes(CHART)) SEED_ENTRIES.forEach((entry, i) =>
      out.push({ id: `seed-chart-${take}-${i}`, type: "add", entity: "chart_data_source", entityId: `chart-${take}`, payload: entry }),
    );
  }
  return out;
}

/** Two clients edit each row from the same base; the second edit loses the version check. */
function conflictingEvents(entities: readonly string[]): Ev[] {
  const out: Ev[] = [];
  for (const take of TAKES) {
    for (const entity of documentsOf(entities)) {
      out.push({ id: `a-${entity}-${take}`, type: "update", entity, entityId: `${entity}-${take}`, payload: FIRST_EDIT, baseVersion: 1, clientId: "A" });
      out.push({ id: `b-${entity}-${take}`, type: "update", entity, entityId: `${entity}-${take}`, payload: PARKED_EDIT, baseVersion: 1, clientId: "B" });
    }
    if (!entities.includes(CHART)) continue;
    out.push({ id: `a-chart-${take}`, type: "update", entity: "chart_data_source", entityId: `chart-${take}`, payload: { id: "e1", color: "green" }, baseVersion: 2, clientId: "A" });
    out.push({ id: `b-chart-${take}`, type: "update", entity: "chart_data_source", entityId: `chart-${take}`, payload: { id: "e1", label: "Crude" }, baseVersion: 2, clientId: "B" });
  }
  return out;
}

interface Conflict {
  id: number;
  eventId: string;
  entity: string;
  entityId: string;
  status: string;
  resolution: string | null;
}

/** The expected row data after resolving `entity:entity-take` with `take`. */
function expectedRow(entity: string, take: Take): unknown {
  if (entity === "chart_data_source") {
    const e1 = take === "remote" ? { id: "e1", label: "Oil", color: "green" } : { id: "e1", label: "Crude", color: "green" };
    return [e1, SEED_ENTRIES[1]];
  }
  return take === "remote" ? { ...SEED_DOC, ...FIRST_EDIT } : { ...SEED_DOC, ...FIRST_EDIT, ...PARKED_EDIT };
}

type AuditRow = { decision: string; reason: string; actor: string | null; version: string | null };
type Query = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

interface Target {
  /** flags that point the CLI at the database */
  dbFlags: string[];
  /** runs `fn` with a query function on the database (after the CLI calls are done) */
  inspect(fn: (q: Query) => Promise<void>): Promise<void>;
}

const ROW_SQL: Record<string, string> = {
  well: "select version::int, doc as data from mudsync.wells where id = $1",
  polygon: "select version::int, doc as data from mudsync.polygons where id = $1",
  curve: "select version::int, doc as data from mudsync.curves where id = $1",
  [CHART]: "select version::int, data_source_config as data from mudsync.charts where id = $1",
};
const AUDIT_SQL = "select decision, reason, actor, version::text from mudsync.audit_log where event_id = $1 order by id";

function suite(name: string, entities: readonly string[], open: (store: string) => Promise<Target>) {
  describe(`conflicts on ${name}`, () => {
    let store: string;
    let target: Target;
    let parked: Conflict[];
    const cli = (args: string[], input?: string) => run(["--store", store, ...target.dbFlags, ...args], input === undefined ? {} : { input });

    beforeAll(async () => {
      store = dirs.make("mudsync-conflicts-");
      target = await open(store);
      for (const [i, events] of [seedEvents(entities), conflictingEvents(entities)].entries()) {
        expect((await cli(["queue", "enqueue", "-"], ndjson(events))).code).toBe(0);
        // the seed drains cleanly; the manual drain leaves the parked events dead (exit 3)
        const drained = await cli(["queue", "drain", "--strategy", "manual", "--no-coalesce"]);
        expect(drained.code, drained.stderr).toBe(i === 0 ? 0 : 3);
      }
      const ls = await cli(["--json", "conflicts", "ls"]);
      expect(ls.code, ls.stderr).toBe(0);
      parked = (JSON.parse(ls.stdout) as { conflicts: Conflict[] }).conflicts;
    });

    it("ls lists one open conflict per row, each the second edit", () => {
      expect(parked.map((c) => c.eventId).sort()).toEqual(
        TAKES.flatMap((t) => entities.map((e) => (e === CHART ? `b-chart-${t}` : `b-${e}-${t}`))).sort(),
      );
      expect(parked.every((c) => c.status === "open" && c.resolution === null)).toBe(true);
    });

    const resolvedRows = new Map<string, { conflict: number; take: Take; entity: string; rowId: string; version: number }>();
    for (const take of TAKES) {
      for (const entity of entities) {
        const rowId = entity === CHART ? `chart-${take}` : `${entity}-${take}`;
        it(`resolve --take ${take} on ${entity} writes the row field by field, audits it, settles the event`, async () => {
          const c = parked.find((x) => x.entityId === rowId)!;
          const shown = await cli(["--json", "conflicts", "show", String(c.id)]);
          expect(shown.code, shown.stderr).toBe(0);
          const show = JSON.parse(shown.stdout) as { proposedMerge: { row: unknown; version: number } | null };

          const resolved = await cli(["--json", "conflicts", "resolve", String(c.id), "--take", take, "--actor", "tester"]);
          expect(resolved.code, resolved.stderr).toBe(0);
          const r = JSON.parse(resolved.stdout) as { row: { version: number; data: unknown } | null; localEventSettled: unknown };
          expect(r.row?.data).toEqual(expectedRow(entity, take));
          const before = entity === "chart_data_source" ? 3 : 2;
          expect(r.row?.version).toBe(take === "remote" ? before : before + 1);
          expect(r.localEventSettled).toBe(true);
          if (take === "merged") {
            // what `show` proposed is exactly what was written
            expect(show.proposedMerge).not.toBeNull();
            expect(show.proposedMerge!.row).toEqual(r.row?.data);
            expect(show.proposedMerge!.version).toBe(before);
          }

          resolvedRows.set(c.eventId, { conflict: c.id, take, entity, rowId, version: r.row!.version });

          const ev = await cli(["--json", "queue", "show", c.eventId]);
          expect(JSON.parse(ev.stdout).event.status).toBe("completed");

          const again = await cli(["conflicts", "resolve", String(c.id), "--take", take]);
          expect(again.code).toBe(2);
          expect(errorLines(again.stderr)).toEqual([`mudsync: conflict ${c.id} is already resolved (took ${take})`]);
        });
      }
    }

    it("every resolution is audited with its side and actor, and a second attempt changed no row", async () => {
      expect(resolvedRows.size).toBe(TAKES.length * entities.length);
      await target.inspect(async (q) => {
        for (const [eventId, x] of resolvedRows) {
          const [row] = await q(ROW_SQL[x.entity]!, [x.rowId]);
          expect(row, `${x.entity}:${x.rowId}`).toEqual({ version: x.version, data: expectedRow(x.entity, x.take) });
          const audit = (await q(AUDIT_SQL, [eventId])) as AuditRow[];
          expect(audit.filter((r) => r.decision === "resolved")).toEqual([
            { decision: "resolved", reason: `conflict ${x.conflict} resolved: ${x.take}`, actor: "tester", version: String(x.version) },
          ]);
        }
      });
    });
  });
}

// the embedded database opens in every CLI call (seconds each): one entity of each kind there
suite("the embedded database", ["well", CHART], async (store) => ({
  dbFlags: [],
  async inspect(fn) {
    const sink = await PgliteSink.open({ schema: "mudsync", dataDir: path.join(store, "pglite"), migrate: false });
    try {
      await fn(async (sql, params) => (await sink.client.query<Record<string, unknown>>(sql, params)).rows);
    } finally {
      await sink.close();
    }
  },
}));

describe.runIf(await realPgAvailable())("real server", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("mudsync_conflicts");
    expect((await run(["--db", db.url, "db", "migrate"])).code).toBe(0);
  });
  afterAll(async () => {
    await db?.drop();
  });
  describe("--merged and --if-version", () => {
    let store: string;
    let conflictId: number;
    const cli = (args: string[], input?: string) => run(["--store", store, "--db", db.url, ...args], input === undefined ? {} : { input });
    const row = async () => JSON.parse((await cli(["--json", "db", "get", "well", "v-well"])).stdout) as { version: number; data: unknown };
    beforeAll(async () => {
      store = dirs.make("mudsync-conflicts-merged-");
      const seed: Ev = { id: "v-seed", type: "add", entity: "well", entityId: "v-well", payload: SEED_DOC };
      expect((await cli(["queue", "enqueue", "-"], ndjson([seed]))).code).toBe(0);
      expect((await cli(["queue", "drain"])).code).toBe(0);
      const pair: Ev[] = [
        { id: "v-a", type: "update", entity: "well", entityId: "v-well", payload: FIRST_EDIT, baseVersion: 1, clientId: "A" },
        { id: "v-b", type: "update", entity: "well", entityId: "v-well", payload: PARKED_EDIT, baseVersion: 1, clientId: "B" },
      ];
      expect((await cli(["queue", "enqueue", "-"], ndjson(pair))).code).toBe(0);
      expect((await cli(["queue", "drain", "--strategy", "manual", "--no-coalesce"])).code).toBe(3);
      const ls = JSON.parse((await cli(["--json", "conflicts", "ls"])).stdout) as { conflicts: Conflict[] };
      conflictId = ls.conflicts.find((c) => c.eventId === "v-b")!.id;
    });

    it("refuses a partial --merged, naming the missing fields, and changes nothing", async () => {
      const r = await cli(["conflicts", "resolve", String(conflictId), "--take", "merged", "--merged", '{"depth_m": 1400}']);
      expect(r.code).toBe(2);
      expect(errorLines(r.stderr)).toEqual([`mudsync: conflict ${conflictId}: --merged: it lacks fields the stored row has (name, status); give the whole merged value (a field left out would be deleted)`]);
      expect(await row()).toMatchObject({ version: 2, data: { ...SEED_DOC, ...FIRST_EDIT } });
    });

    it("refuses --if-version when the row is no longer at that version", async () => {
      const r = await cli(["conflicts", "resolve", String(conflictId), "--take", "merged", "--if-version", "1"]);
      expect(r.code).toBe(2);
      expect(errorLines(r.stderr)).toEqual([expect.stringContaining(`the row well:v-well is now v2, not v1`)]);
    });

    it("writes a whole --merged value exactly", async () => {
      const merged = { ...SEED_DOC, ...FIRST_EDIT, depth_m: 1400, note: "agreed on the phone" };
      const r = await cli(["--json", "conflicts", "resolve", String(conflictId), "--take", "merged", "--merged", JSON.stringify(merged), "--if-version", "2"]);
      expect(r.code, r.stderr).toBe(0);
      expect(await row()).toMatchObject({ version: 3, data: merged });
    });
  });

  suite("the real server", ALL_ENTITIES, async () => ({
    dbFlags: ["--db", db.url],
    async inspect(fn) {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        await fn(async (sql, params) => (await client.query(sql, params)).rows);
      } finally {
        await client.end();
      }
    },
  }));
});
