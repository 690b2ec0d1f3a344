/** `queue drain` and `queue replay` edge cases through the real binary. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { errorLines, fixture, run, tempDirs } from "./queue-run.ts";

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

describe("queue drain: bad usage", () => {
  it("rejects a malformed --timeout with one line and exit 2, before touching anything", async () => {
    const r = await run(["--store", dirs.make(), "queue", "drain", "--timeout", "soon"]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringContaining('--timeout expects a duration like 30s, 5m, 1h or milliseconds, got "soon"')]);
  });

  it("replay with nothing chosen says so (exit 2)", async () => {
    const store = dirs.make();
    expect((await run(["--store", store, "queue", "import", fixture("sample-export.json")])).code).toBe(0);
    const r = await run(["--store", store, "queue", "replay", "--entity", "no_such_entity"]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringContaining("no events match")]);
  });
});

describe.runIf(await realPgAvailable())("queue drain against a server without mudsync's schema", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("mudsync_unmigrated");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("stops at once with one line pointing to `db migrate`, and leaves every event as it was", async () => {
    const store = dirs.make();
    expect((await run(["--store", store, "queue", "import", fixture("sample-export.json")])).code).toBe(0);
    const before = (await run(["--store", store, "--json", "queue", "stats"])).stdout;
    const r = await run(["--store", store, "--db", db.url, "queue", "drain"]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/schema "mudsync" is not installed.*mudsync db migrate/)]);
    const after = (await run(["--store", store, "--json", "queue", "stats"])).stdout;
    expect(JSON.parse(after).byStatus).toEqual(JSON.parse(before).byStatus);
  });
});

describe.runIf(await realPgAvailable())("queue drain --low-memory", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("mudsync_low_memory");
    expect((await run(["--db", db.url, "db", "migrate"])).code).toBe(0);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("drains the same way, only collecting garbage sooner", async () => {
    const store = dirs.make();
    const ndjson = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({ id: `lm-${i}`, type: "update", entity: "well", entityId: `w${i % 4}`, payload: { n: i }, clientId: "lm", seq: i }),
    ).join("\n");
    expect((await run(["--store", store, "queue", "enqueue", "-"], { input: ndjson })).code).toBe(0);
    const r = await run(["--store", store, "--db", db.url, "--json", "queue", "drain", "--low-memory"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").pop() ?? "")).toMatchObject({ drained: true, applied: 30 });
    const well = await run(["--db", db.url, "--json", "db", "get", "well", "w3"]);
    expect(JSON.parse(well.stdout)).toMatchObject({ entity: "well", id: "w3", data: { n: 27 } });
  });
});
