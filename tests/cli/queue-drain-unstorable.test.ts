/**
 * A store written before values PostgreSQL cannot store were refused at the door may hold events
 * with a NUL or an unpaired surrogate. `queue drain` rejects each of them on its own, before
 * sending, with a reason naming the path: the batch of the other events goes through in one round
 * trip instead of failing, being split, and ending the bad events `dead` with a raw SQL error.
 * Run on the embedded PGlite (from a copy of a migrated database), and on the real server when it
 * answers; the drains through the real binary, migrate and ls in process.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDexieStore } from "../../src/stores/dexie/index.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { runInProcess } from "../helpers/cli-in-process.ts";
import { withMigratedPglite } from "../helpers/pglite-template.ts";
import { run, tempDirs } from "./queue-run.ts";

const temp = tempDirs();
afterAll(() => temp.cleanup());

let db: TestDatabase | undefined;
beforeAll(async () => {
  if (!(await realPgAvailable())) return;
  db = await createTestDatabase("mudsync_unstorable");
  const m = await runInProcess(["--db", db.url, "db", "migrate"]);
  expect(m.code, m.stderr).toBe(0);
  return async () => db?.drop();
});

/** A store holding two good events and two the server cannot store, written through the store API. */
async function olderStore(): Promise<string> {
  const store = path.join(temp.make(), "store");
  const s = await openDexieStore({ dir: store, mode: "write" });
  const at = Date.now() - 1000;
  const base = { type: "add" as const, entity: "well", status: "pending" as const, retryCount: 0 };
  await s.enqueue([
    { ...base, id: "good-1", entityId: "u-good-1", payload: { name: "one" }, timestamp: at },
    { ...base, id: "nul-1", entityId: "u-nul-1", payload: { name: "a\u0000b" }, timestamp: at + 1 },
    { ...base, id: "sur-1", entityId: "u-sur-1", payload: { ["k\ud800"]: 1 }, timestamp: at + 2 },
    { ...base, id: "good-2", entityId: "u-good-2", payload: { name: "two" }, timestamp: at + 3 },
  ]);
  await s.close();
  return store;
}

const targets: { label: string; flags: () => string[] }[] = [
  { label: "embedded PGlite", flags: () => [] },
  { label: "real PostgreSQL", flags: () => (db ? ["--db", db.url] : []) },
];

describe("queue drain of events the server cannot store", () => {
  it.each(targets)("$label: each is rejected alone before sending; the others apply in one round trip", async ({ label, flags }) => {
    if (label === "real PostgreSQL" && !db) return; // no server here (CI=true makes realPgAvailable throw instead)
    const store = await olderStore();
    if (flags().length === 0) await withMigratedPglite(store);
    const r = await run(["--store", store, ...flags(), "--json", "queue", "drain"]);
    expect(r.code, r.stderr).toBe(3); // not drained: two events dead
    const summary = JSON.parse(r.stdout) as { applied: number; rejected: number; dead: number; roundTrips: number };
    expect(summary).toMatchObject({ applied: 2, rejected: 2, dead: 2, roundTrips: 1 });

    const ls = await runInProcess(["--store", store, "--json", "queue", "ls", "--limit", "10"]);
    const events = (JSON.parse(ls.stdout) as { events: { id: string; status: string; lastError?: string }[] }).events;
    const byId = Object.fromEntries(events.map((e) => [e.id, e]));
    expect(byId["good-1"]!.status).toBe("completed");
    expect(byId["good-2"]!.status).toBe("completed");
    expect(byId["nul-1"]).toMatchObject({ status: "dead", lastError: expect.stringMatching(/^rejected: not sent: payload\.name: contains a NUL character/) });
    expect(byId["sur-1"]).toMatchObject({ status: "dead", lastError: expect.stringMatching(/^rejected: not sent: payload\["k\\ud800"\]: the key contains an unpaired UTF-16 surrogate/) });
    for (const e of events) expect(e.lastError ?? "").not.toMatch(/SQLSTATE|22P0/);
  }, 120_000);
});
