/**
 * `queue drain` and `queue replay` edge cases through the CLI: in process (a child start per call
 * made the file slow), except the bad-usage checks and the --low-memory drain (it changes V8's
 * heap flags), which run the real binary.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { runInProcess } from "../helpers/cli-in-process.ts";
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
    expect((await runInProcess(["--store", store, "queue", "import", fixture("sample-export.json")])).code).toBe(0);
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
    expect((await runInProcess(["--store", store, "queue", "import", fixture("sample-export.json")])).code).toBe(0);
    const before = (await runInProcess(["--store", store, "--json", "queue", "stats"])).stdout;
    const r = await runInProcess(["--store", store, "--db", db.url, "queue", "drain"]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/schema "mudsync" is not installed.*mudsync db migrate/)]);
    const after = (await runInProcess(["--store", store, "--json", "queue", "stats"])).stdout;
    expect(JSON.parse(after).byStatus).toEqual(JSON.parse(before).byStatus);
  });
});

describe("queue drain against a server that cannot be reached", () => {
  /** a loopback port nothing listens on */
  async function closedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }
  const opened = (stdout: string) =>
    (JSON.parse(stdout) as { events: { id: string; status: string; attempts?: number; lastError?: string }[] }).events
      .map(({ id, status, attempts, lastError }) => ({ id, status, attempts, lastError }))
      .sort((a, b) => a.id.localeCompare(b.id));

  it("exits 5 with one line, and no event is charged an attempt", async () => {
    const store = dirs.make();
    expect((await runInProcess(["--store", store, "queue", "import", fixture("sample-export.json")])).code).toBe(0);
    const before = opened((await runInProcess(["--store", store, "--json", "queue", "ls", "--limit", "1000"])).stdout);
    const url = `postgres://postgres@127.0.0.1:${await closedPort()}/nowhere`;
    const r = await runInProcess(["--store", store, "--db", url, "queue", "drain"]);
    expect(r.code).toBe(5);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/ECONNREFUSED.*server unreachable; the batch in flight was given back as it was, no attempt counted/)]);
    const after = opened((await runInProcess(["--store", store, "--json", "queue", "ls", "--limit", "1000"])).stdout);
    expect(after).toEqual(before);
  });

  it("with --wait it keeps trying with backoff until --timeout, reporting each wait", async () => {
    const store = dirs.make();
    expect((await runInProcess(["--store", store, "queue", "enqueue", "--type", "add", "--entity", "well", "--entity-id", "w1", "--payload", '{"id":"w1"}'])).code).toBe(0);
    const url = `postgres://postgres@127.0.0.1:${await closedPort()}/nowhere`;
    const r = await runInProcess(["--store", store, "--db", url, "--json", "queue", "drain", "--wait", "--timeout", "3s"]);
    expect(r.code).toBe(5);
    const waits = r.stderr
      .split("\n")
      .filter((l) => l.includes('"waiting"'))
      .map((l) => JSON.parse(l) as { waiting: string; retryInMs: number });
    // 1 s, 2 s, 4 s …: how many fit before the timeout depends on how fast the process starts
    expect(waits.length).toBeGreaterThanOrEqual(2);
    expect(waits.map((w) => w.retryInMs)).toEqual([1000, 2000, 4000].slice(0, waits.length));
    expect(waits[0]?.waiting).toBe("server unreachable");
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/server unreachable; still unreachable when the run stopped, no attempt counted/)]);
    const ls = JSON.parse((await runInProcess(["--store", store, "--json", "queue", "ls"])).stdout) as { events: { status: string; attempts?: number }[] };
    expect(ls.events).toEqual([expect.objectContaining({ status: "pending" })]);
    expect(ls.events[0]?.attempts).toBeUndefined();
  });
});

describe.runIf(await realPgAvailable())("queue drain --low-memory", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("mudsync_low_memory");
    expect((await runInProcess(["--db", db.url, "db", "migrate"])).code).toBe(0);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("drains the same way, only collecting garbage sooner", async () => {
    const store = dirs.make();
    const ndjson = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({ id: `lm-${i}`, type: "update", entity: "well", entityId: `w${i % 4}`, payload: { n: i }, clientId: "lm", seq: i }),
    ).join("\n");
    expect((await runInProcess(["--store", store, "queue", "enqueue", "-"], { input: ndjson })).code).toBe(0);
    const r = await run(["--store", store, "--db", db.url, "--json", "queue", "drain", "--low-memory"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").pop() ?? "")).toMatchObject({ drained: true, applied: 30 });
    const well = await runInProcess(["--db", db.url, "--json", "db", "get", "well", "w3"]);
    expect(JSON.parse(well.stdout)).toMatchObject({ entity: "well", id: "w3", data: { n: 27 } });
  });
});
