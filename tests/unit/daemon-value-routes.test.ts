/**
 * The control API refuses events it could never store or apply, over HTTP: a payload nested
 * 10,000 deep (a stack overflow in the store or the sink, answered 500 before) and strings
 * PostgreSQL cannot store (a whole-batch SQL error) get a 400 naming the JSON path, on
 * POST /v1/events (into a real local store) and POST /v1/batches (into a sink that serialises
 * the batch and fails it as PostgreSQL does). A store that cannot be written (disk full) is a
 * 507, which the CLI reads as exit 5, not a 500.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DaemonControl } from "../../src/daemon/control-api.ts";
import { type ControlServer, startControlServer } from "../../src/daemon/control-server.ts";
import { controlUrl } from "../../src/daemon/listen-address.ts";
import { controlRoutes } from "../../src/daemon/routes.ts";
import type { WireEvent } from "../../src/core/ports.ts";
import { MAX_NESTING_DEPTH } from "../../src/core/value-limits.ts";
import { PermanentSinkError } from "../../src/errors.ts";
import { type DexieQueueStore, openDexieStore } from "../../src/stores/dexie/index.ts";
import { storeWriteError } from "../../src/stores/dexie/log/write-failure.ts";

let dir: string;
let store: DexieQueueStore;
let server: ControlServer;
let url: string;
const applied: string[] = [];
const TOKEN = "t".repeat(43);
const headers = { "content-type": "application/json", authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-routes-"));
  store = await openDexieStore({ dir, mode: "write", command: "route test" });
  const control = {
    enqueue: async (events) => {
      const r = await store.enqueue(events);
      return { ids: events.map((e) => e.id), existing: r.existing };
    },
    applyBatch: async (events: WireEvent[]) => {
      const text = JSON.stringify(events); // as a sink sends it
      if (text.includes("\\u0000")) throw new PermanentSinkError("pg sink: unsupported Unicode escape sequence (SQLSTATE 22P05)", "22P05");
      applied.push(...events.map((e) => e.id));
      return events.map((e) => ({ id: e.id, outcome: "applied" as const, version: 1 }));
    },
  } as Partial<DaemonControl> as DaemonControl;
  server = await startControlServer({ kind: "tcp", host: "127.0.0.1", port: 0 }, { routes: controlRoutes(control), maxBodyBytes: 64 * 1024 * 1024, token: TOKEN });
  url = controlUrl(server.address);
  return async () => {
    await server.close(100);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  };
});

const deepText = (levels: number) => `${'{"a":'.repeat(levels - 1)}{"leaf":1}${"}".repeat(levels - 1)}`;
const browserEvent = (id: string, payload: string) =>
  `{"id":"${id}","type":"add","entity":"well","entityId":"w-${id}","payload":${payload},"timestamp":1700000000000,"status":"pending","retryCount":0}`;

async function post(route: string, body: string): Promise<{ status: number; json: { error?: string } & Record<string, unknown> }> {
  const res = await fetch(`${url}${route}`, { method: "POST", headers, body });
  return { status: res.status, json: (await res.json()) as { error?: string } };
}

describe("control API: values that cannot be stored", () => {
  it("POST /v1/events: 400 naming the event and path for a 10,000-deep payload, a NUL, a lone surrogate key", async () => {
    const deep = await post("/v1/events", `{"events":[{"type":"add","entity":"well","entityId":"w1","payload":{}},${browserEvent("d-1", deepText(10_000))}]}`);
    expect(deep).toEqual({ status: 400, json: { error: expect.stringMatching(/^body\.events\.1: payload: objects and arrays nest more than 1000 levels deep/) } });
    const nul = await post("/v1/events", `{"events":[{"type":"add","entity":"well","entityId":"w1","payload":{"x":["a\\u0000"]}}]}`);
    expect(nul).toEqual({ status: 400, json: { error: expect.stringMatching(/^body\.events\.0: payload\.x\[0\]: contains a NUL character/) } });
    const key = await post("/v1/events", `{"events":[{"type":"add","entity":"well","entityId":"w1","payload":{"\\ud800":1}}]}`);
    expect(key).toEqual({ status: 400, json: { error: expect.stringMatching(/^body\.events\.0: payload\["\\ud800"\]: the key contains an unpaired UTF-16 surrogate/) } });
    expect(store.openCounts().pending).toBe(0);
    const ok = await post("/v1/events", `{"events":[${browserEvent("limit-1", deepText(MAX_NESTING_DEPTH))}]}`);
    expect(ok.status).toBe(200);
    expect(store.openCounts().pending).toBe(1);
  });

  it("POST /v1/batches: 400 naming the path, and the batch is not sent", async () => {
    const deep = await post("/v1/batches", `{"events":[${browserEvent("b-0", "{}")},${browserEvent("b-1", deepText(10_000))}]}`);
    expect(deep).toEqual({ status: 400, json: { error: expect.stringMatching(/^body\.events\.1\.payload: objects and arrays nest more than 1000 levels deep/) } });
    const nul = await post("/v1/batches", `{"events":[${browserEvent("b-2", '{"name":"a\\u0000b"}')}]}`);
    expect(nul).toEqual({ status: 400, json: { error: expect.stringMatching(/^body\.events\.0\.payload\.name: contains a NUL character/) } });
    const sur = await post("/v1/batches", `{"events":[${browserEvent("b-3", '{"name":"\\udc00"}')}]}`);
    expect(sur).toEqual({ status: 400, json: { error: expect.stringMatching(/^body\.events\.0\.payload\.name: contains an unpaired UTF-16 surrogate/) } });
    expect(applied).toEqual([]);
    const ok = await post("/v1/batches", `{"events":[${browserEvent("b-4", deepText(MAX_NESTING_DEPTH))}]}`);
    expect(ok.status).toBe(200);
    expect(applied).toEqual(["b-4"]);
  });
});

describe("control API: a store that cannot be written", () => {
  it("POST /v1/events answers 507 with the one-line reason when the store's log write fails (disk full)", async () => {
    const full = storeWriteError(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }), "/s/queue/wal-000000.log", "the writes in flight were not acknowledged");
    const control = { enqueue: async () => Promise.reject(full) } as Partial<DaemonControl> as DaemonControl;
    const s = await startControlServer({ kind: "tcp", host: "127.0.0.1", port: 0 }, { routes: controlRoutes(control), maxBodyBytes: 1024 * 1024, token: TOKEN });
    try {
      const res = await fetch(`${controlUrl(s.address)}/v1/events`, {
        method: "POST",
        headers,
        body: '{"events":[{"type":"add","entity":"well","entityId":"w1","payload":{}}]}',
      });
      expect(res.status).toBe(507);
      expect(((await res.json()) as { error: string }).error).toMatch(/^cannot write store file \/s\/queue\/wal-000000\.log: no space left on the device \(ENOSPC\)/);
    } finally {
      await s.close(100);
    }
  });
});
