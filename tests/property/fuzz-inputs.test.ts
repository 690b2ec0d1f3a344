/**
 * Fuzzing every file and request mudsync parses with arbitrary JSON (fast-check): the dump
 * importer, scenario files, the config file, sim history files and the control API's routes. For each input the
 * outcome is either success or the documented error (InvalidInputError / UsageError, exit 2, one
 * line naming the file; an HTTP 4xx with {"error": one line}); never another exception, a hang
 * (each case has a time limit) or a change to a store that refused an import. The number of cases
 * is printed at the end; MUDSYNC_FUZZ_SCALE raises it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { anyJson, deepJson, deepText, fuzz, hostileText, reportFuzzRuns } from "./fuzz-budget.ts";
import { DexieExportReader } from "../../src/io/dexie-export/reader.ts";
import { InvalidInputError, MudsyncError, UsageError } from "../../src/errors.ts";
import { parseScenarioText } from "../../src/sim/scenario/load-scenario.ts";
import { resolveScenario } from "../../src/sim/scenario/resolve-scenario.ts";
import { DEFAULTS, resolveConfig } from "../../src/config/config.ts";
import { queueImport } from "../../src/commands/queue/import.ts";
import { openDexieStore } from "../../src/stores/dexie/index.ts";
import type { CommandContext } from "../../src/commands/shared/context.ts";
import { controlRoutes } from "../../src/daemon/routes.ts";
import { HttpError, startControlServer } from "../../src/daemon/control-server.ts";
import { controlUrl } from "../../src/daemon/listen-address.ts";
import type { DaemonControl } from "../../src/daemon/control-api.ts";
import { MemoryQueueStore } from "../helpers/memory-queue-store.ts";
import { retryEvents } from "../../src/daemon/retry-selection.ts";
import type { QueuedEvent } from "../../src/core/event.ts";
import type { ApplyResult, WireEvent } from "../../src/core/ports.ts";
import { readHistory } from "../../src/sim/history/read-history.ts";

const root = mkdtempSync(path.join(tmpdir(), "mudsync-fuzz-"));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  reportFuzzRuns("fuzz-inputs");
});

let n = 0;
const fileWith = (text: string, ext = "json") => {
  const f = path.join(root, `f${(n += 1)}.${ext}`);
  writeFileSync(f, text);
  return f;
};

/** One line, no stack: what a person sees. */
function expectOneLine(message: string): void {
  expect(message.length).toBeGreaterThan(0);
  expect(message).not.toMatch(/\n\s+at /);
}

/** A valid export whose rows, header fields or whole body are replaced by arbitrary JSON. */
const exportArb = fc.oneof(
  anyJson.map((v) => JSON.stringify(v)),
  fc.record({ rows: fc.array(anyJson, { maxLength: 4 }), name: fc.constantFrom("EventQueueDB", "CacheDB"), extra: anyJson }).map(({ rows, name, extra }) =>
    JSON.stringify({
      formatName: "dexie",
      formatVersion: 1,
      data: { databaseName: name, databaseVersion: 1, tables: [{ name: name === "CacheDB" ? "cache" : "events", schema: "id", rowCount: rows.length }], data: [{ tableName: name === "CacheDB" ? "cache" : "events", inbound: true, rows }], extra },
    }),
  ),
  fc.record({ formatName: anyJson, formatVersion: anyJson, data: anyJson }).map((v) => JSON.stringify(v)),
  deepText.map((t) => `{"formatName":"dexie","formatVersion":1,"data":${t}}`),
  deepText.map(
    (t) =>
      `{"formatName":"dexie","formatVersion":1,"data":{"databaseName":"EventQueueDB","databaseVersion":1,"tables":[],"data":[{"tableName":"events","inbound":true,"rows":[{"id":"d","type":"add","entity":"well","entityId":"w","payload":{"p":${t}},"timestamp":1,"status":"pending","retryCount":0}]}]}}`,
  ),
  fc.string({ unit: "binary", maxLength: 200 }),
);

describe("fuzz: dump importer", () => {
  it("reading any file yields rows or one InvalidInputError naming the file", async () => {
    await fuzz("importer-read", 150, exportArb, async (text) => {
      const file = fileWith(text);
      try {
        for await (const _ of new DexieExportReader(file).rows()) void _;
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidInputError);
        expect((err as InvalidInputError).file).toBe(file);
        expectOneLine((err as Error).message);
      }
    });
  }, 60_000);

  it("importing any file into a store: all or nothing, the store still opens", async () => {
    const store = path.join(root, "store");
    const seed = fileWith(
      JSON.stringify({
        formatName: "dexie",
        formatVersion: 1,
        data: {
          databaseName: "EventQueueDB",
          databaseVersion: 1,
          tables: [{ name: "events", schema: "id,status,timestamp,[status+timestamp]", rowCount: 1 }],
          data: [{ tableName: "events", inbound: true, rows: [{ id: "seed", type: "add", entity: "well", entityId: "w", payload: {}, timestamp: 1, status: "pending", retryCount: 0 }] }],
        },
      }),
    );
    const ctx = { cwd: root, env: {}, config: { ...DEFAULTS, store }, json: true, tty: false } as CommandContext;
    const quiet = { update() {}, finish() {} };
    await queueImport({ files: [seed] }, ctx, quiet);
    const count = async () => {
      const s = await openDexieStore({ dir: store, mode: "read" });
      try {
        return Object.values(await s.counts()).reduce((a, b) => a + b, 0);
      } finally {
        await s.close();
      }
    };
    await fuzz("importer-store", 40, exportArb, async (text) => {
      const before = await count();
      const r = await queueImport({ files: [fileWith(text)] }, ctx, quiet).then(
        (x) => x,
        (err: unknown) => {
          expect(err).toBeInstanceOf(InvalidInputError);
          return undefined;
        },
      );
      const after = await count();
      if (r === undefined) expect(after).toBe(before);
      else expect(after).toBe(before + r.events.inserted);
    });
  }, 120_000);
});

describe("fuzz: scenario files", () => {
  const scenarioArb = fc.oneof(
    anyJson,
    fc.record({ description: anyJson, seed: anyJson, clients: anyJson, strategy: anyJson, workload: anyJson, timeline: anyJson, faults: anyJson }, { requiredKeys: [] }),
    fc.record({
      workload: fc.record({ entities: fc.oneof(anyJson, fc.constant({ well: { rows: 2 } })), actions: anyJson, duration: anyJson, mix: anyJson }, { requiredKeys: [] }),
      clients: fc.oneof(anyJson, fc.record({ count: fc.integer({ min: -5, max: 5000 }) })),
      faults: fc.array(fc.record({ kind: fc.constantFrom("poison", "duplicate-batch", "clock-skew", "old-export", "kill-daemon", "nope"), clients: anyJson, at: anyJson }), { maxLength: 3 }),
    }),
  );
  it("any JSON or YAML text parses to a scenario or one InvalidInputError naming the file and path", async () => {
    await fuzz("scenario", 400, fc.tuple(scenarioArb, fc.boolean(), fc.string({ unit: "binary", maxLength: 60 })), ([value, yaml, raw]) => {
      const text = raw.length % 5 === 0 ? raw : yaml ? JSON.stringify(value, null, 1) : JSON.stringify(value);
      const file = yaml ? "fuzz.yaml" : "fuzz.json";
      try {
        const parsed = parseScenarioText(text ?? "null", file);
        resolveScenario(parsed, {}, file);
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidInputError);
        expect((err as Error).message.startsWith(file)).toBe(true);
        expectOneLine((err as Error).message);
      }
    });
  }, 60_000);
});

describe("fuzz: config file", () => {
  const configArb = fc.oneof(
    anyJson,
    fc.record(
      {
        store: anyJson,
        db: anyJson,
        schema: fc.oneof(anyJson, hostileText),
        queueSchema: hostileText,
        batchSize: anyJson,
        backoff: anyJson,
        limits: fc.oneof(anyJson, fc.record({ maxPayloadBytes: anyJson, eventsPerSecond: anyJson, burst: anyJson, maxBatchEvents: anyJson }, { requiredKeys: [] })),
        strategies: fc.oneof(anyJson, fc.dictionary(hostileText, fc.constantFrom("merge", "manual", "x"))),
        strategy: anyJson,
      },
      { requiredKeys: [] },
    ),
  );
  it("any config file resolves or fails with one InvalidInputError/UsageError naming the file", async () => {
    await fuzz("config", 400, fc.tuple(configArb, fc.boolean()), ([value, yaml]) => {
      const file = fileWith(JSON.stringify(value) ?? "null", yaml ? "yaml" : "json");
      try {
        const c = resolveConfig({ cwd: root, env: {}, configFile: file, flags: {} });
        expect(c.schema).toMatch(/^[a-z_][a-z0-9_]{0,62}$/);
        expect(c.queueSchema).toMatch(/^[a-z_][a-z0-9_]{0,62}$/);
      } catch (err) {
        expect(err instanceof InvalidInputError || err instanceof UsageError).toBe(true);
        expect((err as Error).message).toContain(file);
        expectOneLine((err as Error).message);
      }
    });
  }, 60_000);
});

describe("fuzz: sim history files", () => {
  const header = { type: "header", version: 1 };
  const lineArb = fc.oneof(
    anyJson.map((v) => JSON.stringify(v) ?? ""),
    fc.record({ type: fc.constantFrom("header", "op", "fault", "read", "final", "ledger", "end", "x"), client: anyJson, at: anyJson, row: anyJson, value: anyJson }, { requiredKeys: ["type"] }).map((v) => JSON.stringify(v)),
    fc.string({ unit: "binary", maxLength: 80 }),
  );
  it("any lines read as records or fail with one InvalidInputError naming the file and line", async () => {
    await fuzz("history", 200, fc.tuple(fc.boolean(), fc.array(lineArb, { maxLength: 6 })), async ([withHeader, lines]) => {
      const file = fileWith([...(withHeader ? [JSON.stringify(header)] : []), ...lines].join("\n"), "ndjson");
      try {
        for await (const _ of readHistory(file)) void _;
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidInputError);
        expect((err as Error).message.startsWith(file)).toBe(true);
        expectOneLine((err as Error).message);
      }
    });
  }, 60_000);
});

describe("fuzz: control API", () => {
  const store = new MemoryQueueStore();
  const control = {
    enqueue: async (events: QueuedEvent[]) => {
      const r = await store.enqueue(events);
      return { ids: events.map((e) => e.id), existing: r.existing };
    },
    list: async (q) => ({ counts: await store.counts(), ...(await store.list(q)) }),
    retry: (sel) => retryEvents(store, sel, Date.now()),
    applyBatch: async (events: WireEvent[]): Promise<ApplyResult[]> => events.map((e) => ({ id: e.id, outcome: "applied", version: 1 })),
    importFiles: async () => {
      throw new InvalidInputError("x", undefined, "not read in this test");
    },
    pause: async () => ({ paused: true }),
    resume: async () => ({ paused: false }),
    drainNow: async () => ({ settled: 0, left: await store.counts() }),
    status: async () => ({}) as never,
    health: async () => ({ ok: true, paused: false, store: "m", sink: "m" }),
    metricsText: async () => ({ contentType: "text/plain", text: "" }),
  } as Partial<DaemonControl> as DaemonControl;
  // the routes this stand-in daemon serves (others, added later, are fuzzed once they are listed here)
  const SERVED = ["/healthz", "/metrics", "/v1/pause", "/v1/resume", "/v1/drain-now", "/v1/retry", "/v1/events", "/v1/import", "/v1/batches"];
  const routes = controlRoutes(control, { limits: { ...DEFAULTS.limits, eventsPerSecond: 1e6, burst: 10_000 } }).filter((r) => SERVED.includes(r.path));
  const DOCUMENTED = new Set([400, 403, 404, 413, 415, 429, 507]);

  const eventish = fc.record(
    { id: hostileText, type: fc.oneof(fc.constantFrom("add", "remove", "update"), hostileText), entity: hostileText, entityId: hostileText, payload: fc.oneof(anyJson, deepJson), timestamp: anyJson, clientId: anyJson, seq: anyJson, baseVersion: anyJson },
    { requiredKeys: [] },
  );
  const bodyArb = fc.oneof(anyJson, fc.record({ events: fc.oneof(anyJson, fc.array(fc.oneof(eventish, anyJson), { maxLength: 6 })) }, { requiredKeys: [] }), fc.record({ ids: anyJson, statuses: anyJson, actor: anyJson }, { requiredKeys: [] }), fc.record({ files: anyJson, replace: anyJson }, { requiredKeys: [] }));
  const queryArb = fc.dictionary(fc.constantFrom("status", "entity", "since", "limit", "after", "order", "x"), fc.oneof(hostileText, fc.integer().map(String)), { maxKeys: 4 });

  it("every route answers any body or query with 2xx or a documented 4xx/5xx and one line", async () => {
    await fuzz("control-api-routes", 500, fc.tuple(fc.constantFrom(...routes), bodyArb, queryArb), async ([route, body, query]) => {
      try {
        const r = await route.handle({ method: route.method, path: route.path, query: new URLSearchParams(query), body: route.method === "POST" ? body : undefined });
        expect(r.status).toBeGreaterThanOrEqual(200);
        expect(r.status).toBeLessThan(300);
      } catch (err) {
        expect(err).toBeInstanceOf(HttpError);
        expect(DOCUMENTED.has((err as HttpError).status)).toBe(true);
        expectOneLine((err as Error).message);
      }
    });
    // nothing stored is broken: every stored event still parses
    for await (const page of store.scan(1000)) for (const e of page) expect(typeof e.id).toBe("string");
  }, 60_000);

  it("over HTTP, any bytes as a body get a documented status, and the server goes on answering", async () => {
    const token = "z".repeat(40);
    const s = await startControlServer({ kind: "tcp", host: "127.0.0.1", port: 0 }, { routes, maxBodyBytes: 64 * 1024, token });
    try {
      const url = controlUrl(s.address);
      const rawArb = fc.tuple(
        fc.constantFrom("/v1/events", "/v1/batches", "/v1/retry", "/v1/pause", "/v1/import", "/nope"),
        fc.oneof(fc.string({ unit: "binary", maxLength: 300 }), anyJson.map((v) => JSON.stringify(v) ?? "")),
        fc.constantFrom("application/json", "text/plain", "application/json; charset=utf-8", ""),
        fc.boolean(),
      );
      await fuzz("control-api-http", 150, rawArb, async ([route, body, type, authed]) => {
        const res = await fetch(`${url}${route}`, {
          method: "POST",
          headers: { ...(type ? { "content-type": type } : {}), ...(authed ? { authorization: `Bearer ${token}` } : {}) },
          body,
        });
        const json = (await res.json()) as { error?: string };
        if (!authed) expect(res.status).toBe(route === "/nope" ? 404 : 401);
        if (res.status >= 300) {
          expect([...DOCUMENTED, 401, 405].includes(res.status)).toBe(true);
          expectOneLine(String(json.error));
        }
      });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await s.close(100);
    }
  }, 60_000);
});

describe("fuzz: limits hold on the way in", () => {
  it("a value nested deeper than the limit is refused with MudsyncError naming the event, at any depth", async () => {
    const { completeEvent } = await import("../../src/core/complete-event.ts");
    await fuzz("nesting", 60, deepJson, (payload) => {
      try {
        completeEvent({ type: "add", entity: "well", entityId: "w", payload: { p: payload } }, "stdin line 1", 1);
      } catch (err) {
        expect(err).toBeInstanceOf(MudsyncError);
        expect((err as Error).message).toMatch(/^stdin line 1: payload/);
      }
    });
  }, 60_000);
});
