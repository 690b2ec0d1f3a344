/**
 * The `conflicts ls|show|resolve` scenario run through the CLI on each database (in process: a
 * child start per call made it slow): one store edits rows of the given built-in entities twice
 * from the same base version, the second edit of each row is parked (`--strategy manual`), and
 * each is resolved with one of the three sides.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../helpers/cli-in-process.ts";
import { errorLines, tempDirs } from "./queue-run.ts";

type Take = "local" | "remote" | "merged";
const TAKES: Take[] = ["local", "remote", "merged"];
export const CHART = "chart_data_source";
export const ALL_ENTITIES = ["well", "polygon", "curve", CHART];
const documentsOf = (entities: readonly string[]) => entities.filter((e) => e !== CHART);

export const SEED_DOC = { name: "A-7", status: "drilling", depth_m: 1000 };
export const FIRST_EDIT = { status: "completed", depth_m: 1200 };
export const PARKED_EDIT = { depth_m: 1350 };
const SEED_ENTRIES = [
  { id: "e1", label: "Oil", color: "red" },
  { id: "e2", label: "Gas", color: "blue" },
];

export interface Ev {
  id: string;
  type: "add" | "update" | "remove";
  entity: string;
  entityId: string;
  payload: Record<string, unknown>;
  baseVersion?: number;
  clientId?: string;
}

export const ndjson = (events: Ev[]) => events.map((e) => JSON.stringify(e)).join("\n") + "\n";

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

export interface Conflict {
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
export type Query = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

export interface Target {
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

export function conflictSuite(name: string, entities: readonly string[], open: (store: string) => Promise<Target>) {
  describe(`conflicts on ${name}`, () => {
    const dirs = tempDirs();
    afterAll(() => dirs.cleanup());
    let store: string;
    let target: Target;
    let parked: Conflict[];
    const cli = (args: string[], input?: string) => runInProcess(["--store", store, ...target.dbFlags, ...args], input === undefined ? {} : { input });

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
          // `show` for the merged side: what it proposes must be exactly what resolve writes
          const shown = take === "merged" ? await cli(["--json", "conflicts", "show", String(c.id)]) : undefined;
          expect(shown?.code ?? 0, shown?.stderr).toBe(0);

          const resolved = await cli(["--json", "conflicts", "resolve", String(c.id), "--take", take, "--actor", "tester"]);
          expect(resolved.code, resolved.stderr).toBe(0);
          const r = JSON.parse(resolved.stdout) as { row: { version: number; data: unknown } | null; localEventSettled: unknown };
          expect(r.row?.data).toEqual(expectedRow(entity, take));
          const before = entity === CHART ? 3 : 2;
          expect(r.row?.version).toBe(take === "remote" ? before : before + 1);
          expect(r.localEventSettled).toBe(true);
          if (shown) {
            const show = JSON.parse(shown.stdout) as { proposedMerge: { row: unknown; version: number } | null };
            expect(show.proposedMerge).not.toBeNull();
            expect(show.proposedMerge!.row).toEqual(r.row?.data);
            expect(show.proposedMerge!.version).toBe(before);
          }
          resolvedRows.set(c.eventId, { conflict: c.id, take, entity, rowId, version: r.row!.version });
        });
      }
    }

    it("resolving a resolved conflict again is refused with one line, whichever side", async () => {
      const [eventId, first] = [...resolvedRows][0]!;
      const other = TAKES.find((t) => t !== first.take)!;
      const again = await cli(["conflicts", "resolve", String(first.conflict), "--take", other]);
      expect(again.code, eventId).toBe(2);
      expect(errorLines(again.stderr)).toEqual([`mudsync: conflict ${first.conflict} is already resolved (took ${first.take})`]);
    });

    it("every parked event is completed in the local store once resolved", async () => {
      const ls = await cli(["--json", "queue", "ls", "--status", "completed", "--limit", "1000"]);
      const completed = new Set((JSON.parse(ls.stdout) as { events: { id: string }[] }).events.map((e) => e.id));
      expect([...resolvedRows.keys()].filter((id) => !completed.has(id))).toEqual([]);
    });

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

