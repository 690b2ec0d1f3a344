/**
 * `mudsync audit ls` on the embedded database: the decisions apply_batch made, a conflict parked
 * and resolved by a named person, and a replay with who asked for it (recorded by the migration
 * 014_audit_replays), filtered by event, row and time; bad filters are one line and exit 2.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../helpers/cli-in-process.ts";
import { withMigratedPglite } from "../helpers/pglite-template.ts";
import { tempDirs } from "./queue-run.ts";
import type { AuditEntry } from "../../src/core/ports.ts";

const dirs = tempDirs();
let store: string;
const events = [
  { id: "s1", type: "add", entity: "well", entityId: "w1", payload: { name: "A-7", depth_m: 1000 }, clientId: "A", seq: 0 },
  { id: "a1", type: "update", entity: "well", entityId: "w1", payload: { depth_m: 1200 }, baseVersion: 1, clientId: "A", seq: 1 },
  { id: "b1", type: "update", entity: "well", entityId: "w1", payload: { depth_m: 1350 }, baseVersion: 1, clientId: "B", seq: 0 },
  { id: "c1", type: "add", entity: "curve", entityId: "c1", payload: { unit: "m" }, clientId: "C", seq: 0 },
];

const cli = (args: string[], input?: string) => runInProcess(["--store", store, ...args], input === undefined ? {} : { input });
const ls = async (args: string[]) => {
  const r = await cli(["--json", "audit", "ls", ...args]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { entries: AuditEntry[] }).entries;
};

beforeAll(async () => {
  store = await withMigratedPglite(dirs.make("mudsync-audit-"));
  const enq = await cli(["queue", "enqueue", "-"], events.map((e) => JSON.stringify(e)).join("\n"));
  expect(enq.code, enq.stderr).toBe(0);
  // a1 and b1 both edit version 1: b1 loses and is parked for a person
  const drain = await cli(["queue", "drain", "--strategy", "manual"]);
  expect(drain.code, drain.stderr).toBe(3);
  const resolve = await cli(["conflicts", "resolve", "1", "--take", "local", "--actor", "alice"]);
  expect(resolve.code, resolve.stderr).toBe(0);
  const replay = await cli(["queue", "replay", "--ids", "s1", "--actor", "bob"]);
  expect(replay.code, replay.stderr).toBe(0);
}, 120_000);
afterAll(() => dirs.cleanup());

describe("audit ls", () => {
  it("an event's whole story, oldest first: applied, replayed by bob, then a duplicate", async () => {
    const s1 = await ls(["--event", "s1", "--order", "oldest"]);
    expect(s1.map((e) => [e.decision, e.actor])).toEqual([
      ["applied", "A"],
      ["replayed", "bob"],
      ["duplicate", "A"],
    ]);
    expect(s1[1]).toMatchObject({ entity: "well", entityId: "w1", reason: "queue replay", version: null });
    expect(s1[0]!.version).toBe(1);
  });

  it("a row's entries include the conflict, its parking and alice's resolution", async () => {
    const w1 = await ls(["--row", "well:w1", "--order", "oldest"]);
    const b1 = w1.filter((e) => e.eventId === "b1").map((e) => [e.decision, e.actor]);
    expect(b1).toEqual([
      ["conflict", "B"],
      ["parked", "B"],
      // resolving with --take local applies the parked edit (as its client's), then records who chose it
      ["applied", "B"],
      ["resolved", "alice"],
    ]);
    expect(w1.every((e) => e.entity === "well" && e.entityId === "w1")).toBe(true);
    expect(w1.some((e) => e.eventId === "c1")).toBe(false);
  });

  it("newest first by default, with --limit and --since", async () => {
    const all = await ls([]);
    expect(all.length).toBeGreaterThanOrEqual(8);
    const times = all.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(await ls(["--limit", "2"])).toEqual(all.slice(0, 2));
    expect(await ls(["--since", new Date(Date.now() + 60_000).toISOString()])).toEqual([]);
    expect((await ls(["--since", "1h"])).length).toBe(all.length);
    const text = await cli(["audit", "ls", "--event", "s1"]);
    expect(text.stdout).toMatch(/^at\s+decision\s+event\s+row\s+version\s+actor\s+reason$/m);
    expect(text.stdout).toMatch(/replayed\s+s1\s+well:w1\s+-\s+bob\s+queue replay/);
  });

  it("refuses a bad --row or --since with one line and exit 2", async () => {
    const row = await cli(["audit", "ls", "--row", "w1"]);
    expect(row.code).toBe(2);
    expect(row.stderr.trim()).toBe('mudsync: --row "w1": expected ENTITY:ID, e.g. well:w-17');
    const since = await cli(["audit", "ls", "--since", "yesterday"]);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain('--since expects an ISO time');
  });
});
