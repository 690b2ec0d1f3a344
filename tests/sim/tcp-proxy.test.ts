/**
 * The runner's TCP proxy on real connections: an answer dropped after the server committed, a
 * request cut half way (nothing committed), a closed port while refusing, every link cut.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TcpProxy } from "../../src/sim/runner/tcp-proxy.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";

describe.runIf(await realPgAvailable())("TCP proxy between clients and the server", () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let via: string;
  const direct = () => new pg.Client({ connectionString: db.url });
  const through = () => {
    const c = new pg.Client({ connectionString: via });
    c.on("error", () => {});
    return c;
  };
  async function count(): Promise<number> {
    const c = direct();
    await c.connect();
    try {
      return (await c.query<{ n: number }>("select count(*)::int as n from t")).rows[0]!.n;
    } finally {
      await c.end();
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase("mudsync_proxy");
    const c = direct();
    await c.connect();
    await c.query("create table t (x int)");
    await c.end();
    const target = new URL(db.url);
    proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const port = await proxy.start();
    const u = new URL(db.url);
    u.port = String(port);
    via = u.toString();
  });
  afterAll(async () => {
    await proxy?.stop();
    await db?.drop();
  });

  it("applied but errored: the insert commits, the client gets an error", async () => {
    const c = through();
    await c.connect();
    proxy.dropNextAnswer();
    await expect(c.query("insert into t values (1)")).rejects.toThrow();
    expect(await count()).toBe(1);
    expect(proxy.counts.droppedAnswers).toBe(1);
  });

  it("a request cut half way commits nothing", async () => {
    const c = through();
    await c.connect();
    proxy.cutNextRequest();
    await expect(c.query("insert into t values (2)")).rejects.toThrow();
    expect(await count()).toBe(1);
  });

  it("refusing closes the port (ECONNREFUSED); afterwards the same port accepts again", async () => {
    await proxy.refuse(true);
    await expect(through().connect()).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await proxy.refuse(false);
    const c = through();
    await c.connect();
    expect((await c.query("select 1 as one")).rows[0]).toEqual({ one: 1 });
    expect(proxy.cutAll()).toBeGreaterThanOrEqual(1);
    await expect(c.query("select 1")).rejects.toThrow();
  });
});
