/**
 * The Supabase sink over real HTTP and WebSocket against the stand-in PostgREST and Realtime, in
 * front of PGlite and of the real Postgres (a fresh database, dropped after). For each backend, one
 * stack serves first the shared sink contract (as an authenticated user, followed through Supabase
 * Realtime), then what only this sink has: one request per batch, the JWT's sub recorded, error
 * classification (HTTP status + PostgREST body -> retryable / permanent), and row-level security
 * applied as the user whose JWT the sink carries.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { WireEvent } from "../../src/core/ports.ts";
import { PermanentSinkError, RetryableSinkError, SinkError, SinkSetupError, UsageError } from "../../src/errors.ts";
import { BUILTIN_ENTITY_TABLES } from "../../src/realtime/builtin-entity-tables.ts";
import { SupabaseRealtimeFeed } from "../../src/realtime/supabase-realtime.ts";
import { SupabaseSink } from "../../src/sinks/supabase/supabase-sink.ts";
import { realPgAvailable, realPgHasLz4 } from "../helpers/pg.ts";
import { signJwt } from "../servers/jwt.ts";
import { enableCurveOwnerRls, startSupabaseStack, type SupabaseStack } from "../servers/supabase-stack.ts";
import { sinkContract } from "./sink-contract.ts";

/** the user the contract's sink signs in as; the server records it as the author of every write */
const CONTRACT_USER = "contract-user";

let n = 0;
function ev(entity: string, entityId: string, type: WireEvent["type"], payload: Record<string, unknown>, extra: Partial<WireEvent> = {}): WireEvent {
  n++;
  return { id: `supa-${n}-${Math.random().toString(36).slice(2, 8)}`, type, entity, entityId, payload, timestamp: 1_700_000_000_000 + n, ...extra };
}

async function thrown(p: Promise<unknown>): Promise<SinkError | UsageError> {
  try {
    await p;
  } catch (err) {
    return err as SinkError;
  }
  throw new Error("expected the call to fail");
}

/** The contract run and the Supabase-specific tests over one stack (one database, one PGlite at most); `lz4`: its server has lz4. */
function supabaseSuite(kind: "pglite" | "pg", lz4 = false): void {
  let started: Promise<SupabaseStack> | undefined;
  const stackOnce = () => (started ??= startSupabaseStack(kind));
  afterAll(async () => {
    const stack = await started?.catch(() => undefined);
    await stack?.close();
  });

  sinkContract(
    `supabase over ${kind}`,
    async () => {
      const stack = await stackOnce();
      const sink = new SupabaseSink({
        url: stack.fake.url,
        key: stack.fake.anonKey,
        schema: stack.schema,
        userJwt: stack.fake.userJwt(CONTRACT_USER),
      });
      // `mudsync db changes` follows a Supabase project through Realtime, on the sink's client
      const feed = new SupabaseRealtimeFeed(sink.client, { schema: stack.schema, entityTables: BUILTIN_ENTITY_TABLES });
      return { sink, inspect: stack.db, feed, cleanup: () => sink.close() };
    },
    {
      schema: "mudsync",
      capabilities: { supportsTransactions: false, supportsListen: true, supportsDryRun: false },
      parksConflicts: false,
      // PGlite serialises the stand-in's transactions; the real server runs them side by side
      concurrent: kind === "pg",
      lz4,
      author: CONTRACT_USER,
      deletesByKeyOnly: true,
    },
  );

  describe(`supabase sink specifics over ${kind}`, () => {
    let stack: SupabaseStack;
    let alice: SupabaseSink;
    let bob: SupabaseSink;
    const sinkAs = (sub: string | undefined, extra: { timeoutMs?: number; url?: string } = {}) =>
      new SupabaseSink({
        url: extra.url ?? stack.fake.url,
        key: stack.fake.anonKey,
        schema: stack.schema,
        ...(sub ? { userJwt: stack.fake.userJwt(sub) } : {}),
        ...(extra.timeoutMs ? { timeoutMs: extra.timeoutMs } : {}),
      });

    beforeAll(async () => {
      stack = await stackOnce();
      alice = sinkAs("alice");
      bob = sinkAs("bob");
    });
    afterAll(async () => {
      await alice?.close();
      await bob?.close();
    });

    test("a batch is one POST to rpc/apply_batch; the row records the JWT's sub", async () => {
      const before = stack.fake.postgrest.counts.rpc;
      const batch = [
        ev("well", "w-1", "add", { name: "Well 1", depth: 1200 }),
        ev("well", "w-1", "update", { depth: 1300 }),
        ev("chart_data_source", "c-1", "add", { id: "src-1", label: "GR" }),
      ];
      const results = await alice.applyBatch(batch);
      expect(stack.fake.postgrest.counts.rpc - before).toBe(1);
      expect(results.map((r) => [r.id, r.outcome])).toEqual(batch.map((e) => [e.id, "applied"]));
      const row = await alice.getRow("well", "w-1");
      expect(row).toMatchObject({ entity: "well", id: "w-1", version: 2, data: { name: "Well 1", depth: 1300 }, updatedBy: "alice" });
      const chart = await alice.getRow("chart_data_source", "c-1");
      expect(chart?.data).toEqual([{ id: "src-1", label: "GR" }]);
    });

    test("an empty batch makes no request", async () => {
      const before = stack.fake.postgrest.counts.rpc;
      expect(await alice.applyBatch([])).toEqual([]);
      expect(stack.fake.postgrest.counts.rpc).toBe(before);
    });

    test("the anon key alone cannot write: 42501 as HTTP 401, a setup error (no event is at fault)", async () => {
      const anon = sinkAs(undefined);
      try {
        const err = await thrown(anon.applyBatch([ev("well", "w-anon", "add", { x: 1 })]));
        expect(err).toBeInstanceOf(SinkSetupError);
        expect((err as SinkSetupError).code).toBe("42501");
        expect(err.message).toMatch(/HTTP 401 42501/);
      } finally {
        await anon.close();
      }
      expect(await alice.getRow("well", "w-anon")).toBeNull();
    });

    test("a JWT signed with another secret is refused (401 PGRST301, a setup error)", async () => {
      const forged = new SupabaseSink({
        url: stack.fake.url,
        key: stack.fake.anonKey,
        schema: stack.schema,
        userJwt: signJwt({ sub: "mallory", role: "authenticated" }, "not-the-project-secret-not-the-project-secret"),
      });
      try {
        const err = await thrown(forged.applyBatch([ev("well", "w-forged", "add", {})]));
        expect(err).toBeInstanceOf(SinkSetupError);
        expect((err as SinkSetupError).code).toBe("PGRST301");
      } finally {
        await forged.close();
      }
    });

    test("a database error maps to PostgREST's status and body (events not an array -> 400 22023)", async () => {
      const res = await fetch(`${stack.fake.url}/rest/v1/rpc/apply_batch`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-profile": stack.schema, authorization: `Bearer ${stack.fake.userJwt("alice")}` },
        body: JSON.stringify({ events: { not: "an array" } }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: "22023", message: expect.stringMatching(/events must be a JSON array/), hint: null });
    });

    test.each([
      [503, { code: "PGRST001", message: "Database client error" }, "PGRST001"],
      [429, { message: "Too many requests" }, "HTTP429"],
      [500, { code: "40001", message: "could not serialize access", details: null, hint: null }, "40001"],
      [409, { code: "40P01", message: "deadlock detected", details: null, hint: null }, "40P01"],
      [502, "<html>bad gateway</html>", "HTTP502"],
    ])("HTTP %i is retryable (%j)", async (status, body, code) => {
      stack.fake.postgrest.injectFault({ status, body });
      const err = await thrown(alice.applyBatch([ev("well", "w-fault", "add", {})]));
      expect(err).toBeInstanceOf(RetryableSinkError);
      expect((err as SinkError).code).toBe(code);
    });

    test.each([
      [400, { code: "P0001", message: "raised by a trigger", details: null, hint: null }, "P0001"],
      [409, { code: "23505", message: "duplicate key value", details: "Key (id)=(x) already exists.", hint: null }, "23505"],
    ])("HTTP %i with a PostgREST body is permanent (%j)", async (status, body, code) => {
      stack.fake.postgrest.injectFault({ status, body });
      const err = await thrown(alice.applyBatch([ev("well", "w-fault", "add", {})]));
      expect(err).toBeInstanceOf(PermanentSinkError);
      expect((err as SinkError).code).toBe(code);
      expect(err.message).toContain(body.message);
    });

    test("HTTP 404 PGRST202 (function not found: not migrated or not exposed) is a setup error", async () => {
      stack.fake.postgrest.injectFault({ status: 404, body: { code: "PGRST202", message: "Could not find the function", details: null, hint: null } });
      const err = await thrown(alice.applyBatch([ev("well", "w-fault", "add", {})]));
      expect(err).toBeInstanceOf(SinkSetupError);
      expect(err.message).toContain("mudsync db migrate");
    });

    test("a request that outlasts timeoutMs is retryable (ETIMEDOUT)", async () => {
      const impatient = sinkAs("alice", { timeoutMs: 150 });
      stack.fake.postgrest.injectFault({ delayMs: 1500, status: 200, body: [] });
      try {
        const err = await thrown(impatient.applyBatch([ev("well", "w-slow", "add", {})]));
        expect(err).toBeInstanceOf(RetryableSinkError);
        expect((err as SinkError).code).toBe("ETIMEDOUT");
      } finally {
        await impatient.close();
      }
    });

    test("an unreachable API is retryable", async () => {
      const nowhere = sinkAs("alice", { url: "http://127.0.0.1:9" });
      try {
        const err = await thrown(nowhere.applyBatch([ev("well", "w-gone", "add", {})]));
        expect(err).toBeInstanceOf(RetryableSinkError);
        expect(err.message).toMatch(/unreachable/);
      } finally {
        await nowhere.close();
      }
    });

    test("a response that does not answer the batch is refused", async () => {
      stack.fake.postgrest.injectFault({ status: 200, body: [{ id: "someone-else", outcome: "applied" }] });
      const err = await thrown(alice.applyBatch([ev("well", "w-odd", "add", {})]));
      expect(err).toBeInstanceOf(PermanentSinkError);
      expect(err.message).toMatch(/unexpected response: expected 1 results in input order/);
    });

    describe("row-level security (curves owned by updated_by = JWT sub)", () => {
      beforeAll(async () => {
        await enableCurveOwnerRls(stack);
      });

      test("bob cannot see or change alice's row; alice's row stays as she left it", async () => {
        const mine = await alice.applyBatch([ev("curve", "k-1", "add", { name: "alice's curve", samples: [1, 2, 3] })]);
        expect(mine[0]?.outcome).toBe("applied");
        expect(await bob.getRow("curve", "k-1")).toBeNull();

        // bob's whole batch goes through: only the event on the row he cannot see is rejected
        const r = await bob.applyBatch([
          ev("curve", "k-1", "update", { name: "bob was here" }),
          ev("curve", "k-bob", "add", { name: "bob's own curve" }),
        ]);
        expect(r.map((x) => x.outcome)).toEqual(["rejected", "applied"]);
        expect(r[0]?.reason).toMatch(/row not visible to this user \(row-level security\)/);
        expect((await bob.getRow("curve", "k-bob"))?.data).toEqual({ name: "bob's own curve" });
        const ledger = await stack.db.query<{ n: string | number }>(
          `select count(*) as n from "${stack.schema}".applied_events where event_id = $1`,
          [r[0]?.id],
        );
        expect(Number(ledger.rows[0]?.n)).toBe(0);

        const { rows } = await stack.db.query<{ doc: unknown; updated_by: string; version: string | number }>(
          `select doc, updated_by, version from "${stack.schema}".curves where id = 'k-1'`,
        );
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ doc: { name: "alice's curve", samples: [1, 2, 3] }, updated_by: "alice" });
        expect(Number(rows[0]?.version)).toBe(1);
        expect((await alice.getRow("curve", "k-1"))?.data).toEqual({ name: "alice's curve", samples: [1, 2, 3] });
      });
    });
  });
}

describe("supabase sink over PGlite", () => {
  supabaseSuite("pglite");
});

const lz4 = await realPgHasLz4();

describe.runIf(await realPgAvailable())("supabase sink over the real PostgreSQL", () => {
  supabaseSuite("pg", lz4);
});
