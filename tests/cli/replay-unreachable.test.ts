/**
 * `queue replay` against a server that cannot be reached changes no event: the chosen events keep
 * their status, attempts, error and schedule (checked in the store afterwards), exit 5, one line.
 */
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDexieStore } from "../../src/stores/dexie/index.ts";
import { errorLines, run, tempDirs } from "./queue-run.ts";

const CLOSED_PORT = "postgres://postgres@127.0.0.1:1/nowhere";
const ENV = { DATABASE_URL: "", MUDSYNC_DB: "", SUPABASE_URL: "" };

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const EVENTS = [
  { id: "d1", type: "update", entity: "well", entityId: "w1", payload: { a: 1 }, status: "dead", retryCount: 10, attempts: 10, lastError: "boom", deadAt: 1_700_000_000_000 },
  { id: "d2", type: "update", entity: "well", entityId: "w2", payload: { a: 2 }, status: "dead", retryCount: 4, lastError: "rejected: bad payload" },
  { id: "f1", type: "update", entity: "polygon", entityId: "p1", payload: { a: 3 }, status: "failed", retryCount: 2, attempts: 2, lastError: "timeout", nextAttemptAt: 4_102_444_800_000 },
  { id: "c1", type: "add", entity: "well", entityId: "w3", payload: { a: 4 }, status: "completed" },
];

async function storeWithEvents(): Promise<string> {
  const store = path.join(dirs.make(), "store");
  const r = await run(["queue", "enqueue", "-", "--store", store], { input: EVENTS.map((e) => JSON.stringify(e)).join("\n"), env: ENV });
  expect(r.code, r.stderr).toBe(0);
  return store;
}

/** Every event as the store holds it (a read-only open, as `queue show` does). */
async function snapshot(store: string): Promise<unknown[]> {
  const reader = await openDexieStore({ dir: store, mode: "read" });
  try {
    return await reader.getMany(EVENTS.map((e) => e.id));
  } finally {
    await reader.close();
  }
}

describe("queue replay with the server unreachable", () => {
  for (const args of [["--status", "dead"], ["--ids", "d1,f1,c1"], ["--status", "dead,failed,completed"]]) {
    it(`${args.join(" ")}: exit 5, one line, every event as it was`, async () => {
      const store = await storeWithEvents();
      const before = await snapshot(store);
      expect(before.map((e) => (e as { status: string }).status)).toEqual(["dead", "dead", "failed", "completed"]);

      const r = await run(["queue", "replay", ...args, "--store", store, "--db", CLOSED_PORT], { env: ENV });
      expect(await snapshot(store)).toEqual(before);
      expect(r.code, r.stderr).toBe(5);
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^mudsync: .*server unreachable.*put back as they were$/)]);
    });
  }
});
