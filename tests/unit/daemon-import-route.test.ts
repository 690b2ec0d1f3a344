/**
 * POST /v1/import's answers when the daemon cannot take the files: a store over its limit is a
 * 507 (which the CLI reads as exit 5, as when it hits the limit itself), a store without
 * `atomic` (the Postgres queue) a 400 with the reason.
 */
import { describe, expect, it } from "vitest";
import { controlRoutes } from "../../src/daemon/routes.ts";
import type { DaemonControl } from "../../src/daemon/control-api.ts";
import { HttpError } from "../../src/daemon/control-server.ts";
import { importIntoOpenStore } from "../../src/daemon/import-files.ts";
import { DaemonRequestError } from "../../src/commands/shared/control-client.ts";
import { ExitCode, StoreTooLargeError } from "../../src/errors.ts";
import { fixture } from "../cli/queue-run.ts";
import { MemoryQueueStore } from "../helpers/memory-queue-store.ts";

function importRoute(importFiles: DaemonControl["importFiles"]) {
  const route = controlRoutes({ importFiles } as DaemonControl).find((r) => r.method === "POST" && r.path === "/v1/import");
  if (!route) throw new Error("no POST /v1/import route");
  return (body: unknown) => route.handle({ method: "POST", path: "/v1/import", query: new URLSearchParams(), body });
}

async function statusOf(p: Promise<unknown>): Promise<{ status: number; message: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpError);
  return { status: (err as HttpError).status, message: (err as HttpError).message };
}

describe("POST /v1/import", () => {
  it("answers 507 when the store is over its limit, which the CLI exits 5 on", async () => {
    const handle = importRoute(async () => {
      throw new StoreTooLargeError("importing into store /s would take it past 500000 events");
    });
    const r = await statusOf(handle({ files: [fixture("sample-export.json")] }));
    expect(r).toEqual({ status: 507, message: "importing into store /s would take it past 500000 events" });
    expect(new DaemonRequestError(r.message, r.status).exitCode).toBe(ExitCode.Unavailable);
  });

  it("answers 400 for a store without atomic writes, naming the store to use", async () => {
    const store = new MemoryQueueStore();
    const handle = importRoute((req) => importIntoOpenStore(store, req));
    const r = await statusOf(handle({ files: [fixture("sample-export.json")] }));
    expect(r.status).toBe(400);
    expect(r.message).toContain("takes no export imports");
    expect(await store.counts()).toMatchObject({ pending: 0 });
  });
});
