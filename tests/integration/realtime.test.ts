/**
 * A change applied through apply_batch reaches every change feed: (a) the pg LISTEN feed on the
 * real server (also after its connection is killed, and never with a malformed payload), (b) the
 * PGlite feed on the in-process instance, (c) a supabase-js Realtime channel through the fake
 * Realtime server — with changedBy = the JWT's sub, and RLS deciding who is told about a row.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import type { RowChange, WireEvent } from "../../src/core/ports.ts";
import { BUILTIN_ENTITY_TABLES } from "../../src/realtime/builtin-entity-tables.ts";
import { PgListenFeed } from "../../src/realtime/pg-listen.ts";
import { PgliteListenFeed } from "../../src/realtime/pglite-listen.ts";
import { SupabaseRealtimeFeed } from "../../src/realtime/supabase-realtime.ts";
import { RetryableSinkError } from "../../src/errors.ts";
import { SupabaseSink } from "../../src/sinks/supabase/supabase-sink.ts";
import { realPgAvailable } from "../helpers/pg.ts";
import { enableCurveOwnerRls, startSupabaseStack, type SupabaseStack } from "../servers/supabase-stack.ts";

const PG = await realPgAvailable();
const BACKENDS: ("pglite" | "pg")[] = PG ? ["pglite", "pg"] : ["pglite"];
const WAIT = { timeout: 15_000, interval: 20 };

let n = 0;
function ev(entity: string, entityId: string, type: WireEvent["type"], payload: Record<string, unknown>): WireEvent {
  n++;
  return { id: `rt-${n}-${Math.random().toString(36).slice(2, 8)}`, type, entity, entityId, payload, timestamp: 1_700_000_000_000 + n };
}

function sinkFor(stack: SupabaseStack, sub: string): SupabaseSink {
  return new SupabaseSink({ url: stack.fake.url, key: stack.fake.anonKey, userJwt: stack.fake.userJwt(sub), schema: stack.schema });
}

describe.runIf(PG)("pg LISTEN feed (real server)", () => {
  let stack: SupabaseStack;
  let sink: SupabaseSink;
  beforeAll(async () => {
    stack = await startSupabaseStack("pg");
    sink = sinkFor(stack, "alice");
  });
  afterAll(async () => {
    await sink?.close();
    await stack?.close();
  });

  test("delivers applied changes with the JWT's sub, survives a killed connection, drops bad payloads", async () => {
    const changes: RowChange[] = [];
    const problems: string[] = [];
    let reconnects = 0;
    const feed = new PgListenFeed({
      connectionString: stack.url as string,
      schema: stack.schema,
      onProblem: (m) => problems.push(m),
      onReconnect: () => reconnects++,
      backoff: { baseMs: 20, maxMs: 200 },
    });
    const unsubscribe = await feed.subscribe((c) => changes.push(c));
    try {
      await sink.applyBatch([ev("well", "w-l1", "add", { name: "one" })]);
      await vi.waitFor(() => expect(changes).toEqual([{ entity: "well", id: "w-l1", version: 1, op: "insert", changedBy: "alice" }]), WAIT);

      await stack.db.query("select pg_notify($1, $2)", [`${stack.schema}_changes`, '{"entity":"well","id":7}']);
      await stack.db.query("select pg_notify($1, 'not json')", [`${stack.schema}_changes`]);
      await vi.waitFor(() => expect(problems.filter((p) => p.startsWith("notification payload"))).toHaveLength(2), WAIT);

      await stack.db.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'mudsync-changes' and datname = current_database()",
      );
      await vi.waitFor(() => expect(reconnects).toBe(1), WAIT);
      await sink.applyBatch([ev("well", "w-l1", "update", { name: "two" })]);
      await vi.waitFor(() => expect(changes.at(-1)).toEqual({ entity: "well", id: "w-l1", version: 2, op: "update", changedBy: "alice" }), WAIT);
      expect(changes).toHaveLength(2);
      expect(problems.some((p) => p.includes("connection lost"))).toBe(true);
    } finally {
      await unsubscribe();
    }
  });

  test("a feed that cannot connect fails with a retryable error", async () => {
    const feed = new PgListenFeed({ connectionString: "postgres://postgres@127.0.0.1:9/none", schema: stack.schema });
    await expect(feed.subscribe(() => {})).rejects.toBeInstanceOf(RetryableSinkError);
  });
});

describe("PGlite feed (in-process listen)", () => {
  let stack: SupabaseStack;
  beforeAll(async () => {
    stack = await startSupabaseStack("pglite");
  });
  afterAll(async () => {
    await stack?.close();
  });

  test("delivers changes made through the same instance, deletes included", async () => {
    const changes: RowChange[] = [];
    const feed = new PgliteListenFeed(stack.pglite!, { schema: stack.schema });
    const unsubscribe = await feed.subscribe((c) => changes.push(c));
    try {
      const batch = (events: WireEvent[]) =>
        stack.db.transaction(async (tx) => {
          await tx.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: "carol" })]);
          await tx.query(`select "${stack.schema}".apply_batch($1::jsonb)`, [JSON.stringify(events)]);
        });
      await batch([ev("polygon", "p-9", "add", { points: [] })]);
      await batch([ev("polygon", "p-9", "remove", {})]);
      await vi.waitFor(() => expect(changes).toHaveLength(2), WAIT);
      expect(changes[0]).toEqual({ entity: "polygon", id: "p-9", version: 1, op: "insert", changedBy: "carol" });
      expect(changes[1]).toMatchObject({ entity: "polygon", id: "p-9", op: "delete", changedBy: "carol" });
    } finally {
      await unsubscribe();
    }
  });
});

for (const kind of BACKENDS) {
  describe(`supabase-js Realtime through the fake Realtime server (${kind})`, () => {
    let stack: SupabaseStack;
    let alice: SupabaseSink;
    let bob: SupabaseSink;
    beforeAll(async () => {
      stack = await startSupabaseStack(kind);
      alice = sinkFor(stack, "alice");
      bob = sinkFor(stack, "bob");
      await enableCurveOwnerRls(stack);
    });
    afterAll(async () => {
      await alice?.close();
      await bob?.close();
      await stack?.close();
    });

    const follow = async (sink: SupabaseSink) => {
      const changes: RowChange[] = [];
      const problems: string[] = [];
      const feed = new SupabaseRealtimeFeed(sink.client, {
        schema: stack.schema,
        entityTables: BUILTIN_ENTITY_TABLES,
        onProblem: (m) => problems.push(m),
      });
      const unsubscribe = await feed.subscribe((c) => changes.push(c));
      return { changes, problems, unsubscribe };
    };

    test("an applied batch reaches the channel with changedBy = the JWT's sub", async () => {
      const a = await follow(alice);
      try {
        await alice.applyBatch([ev("well", "w-rt", "add", { name: "rt" }), ev("chart_data_source", "c-rt", "add", { id: "s1" })]);
        await alice.applyBatch([ev("well", "w-rt", "remove", {})]);
        await vi.waitFor(() => expect(a.changes).toHaveLength(3), WAIT);
        expect(a.changes).toEqual(
          expect.arrayContaining([
            { entity: "well", id: "w-rt", version: 1, op: "insert", changedBy: "alice" },
            { entity: "chart_data_source", id: "c-rt", version: 1, op: "insert", changedBy: "alice" },
          ]),
        );
        // Realtime deletes carry only the primary key (no REPLICA IDENTITY FULL): version 0
        expect(a.changes[2]).toEqual({ entity: "well", id: "w-rt", version: 0, op: "delete" });
        expect(a.problems).toEqual([]);
      } finally {
        await a.unsubscribe();
      }
    });

    test("RLS decides who hears about a row: bob is not told about alice's curve", async () => {
      const a = await follow(alice);
      const b = await follow(bob);
      try {
        await alice.applyBatch([ev("curve", "k-alice", "add", { v: 1 })]);
        await bob.applyBatch([ev("curve", "k-bob", "add", { v: 2 })]);
        await vi.waitFor(() => expect(a.changes).toHaveLength(1), WAIT);
        await vi.waitFor(() => expect(b.changes).toHaveLength(1), WAIT);
        // notifications are delivered in commit order, so bob's own change arriving first and alone
        // means alice's (committed before it) was withheld from him
        expect(a.changes[0]).toMatchObject({ id: "k-alice", changedBy: "alice" });
        expect(b.changes[0]).toMatchObject({ id: "k-bob", changedBy: "bob" });
      } finally {
        await a.unsubscribe();
        await b.unsubscribe();
      }
    });
  });
}
