/**
 * Closing the control API: a request in flight finishes, and its answer ends the keep-alive
 * connection (`connection: close`), so a client holding one does not keep the daemon waiting.
 */
import http from "node:http";
import { describe, expect, it } from "vitest";
import { startControlServer } from "../../src/daemon/control-server.ts";

describe("control server close", () => {
  it("answers the request in flight with connection: close and then stops", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const server = await startControlServer(
      { kind: "tcp", host: "127.0.0.1", port: 0 },
      {
        maxBodyBytes: 1024,
        routes: [{ method: "GET", path: "/slow", open: true, handle: async () => (entered(), await held, { status: 200, json: { ok: true } }) }],
      },
    );
    const port = (server.address as { port: number }).port;
    const agent = new http.Agent({ keepAlive: true });
    const answer = new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: "127.0.0.1", port, path: "/slow", agent }, resolve).on("error", reject);
    });
    await inHandler;
    const closed = server.close(30_000);
    release();
    const res = await answer;
    res.resume();
    expect(res.statusCode).toBe(200);
    expect(res.headers.connection).toBe("close");
    await closed;
    agent.destroy();
  });
});
