/**
 * The control API's HTTP plumbing (node:http, no framework): listening on loopback or a unix
 * socket (mode 0600), routing by method and path, JSON bodies read with a size limit (413),
 * one-line errors as `{"error": "..."}`, 404/405 for unknown routes, and the browser rules.
 *
 * Browser rules: the API can pause, drain and enqueue, so a web page must not be able to drive it.
 * A request carrying an `Origin` header is served only on routes marked `browser` and only for the
 * configured `--cors-origin` (403 otherwise); POST bodies must be `application/json`, which makes
 * every cross-origin POST preflighted; and on TCP the `Host` header must name a loopback host, which
 * defeats DNS rebinding (unless the daemon listens publicly, where the token does that job).
 *
 * Authentication: over TCP every route except those marked `open` (/healthz, /metrics) needs
 * `Authorization: Bearer <token>` (control-token.ts), compared in constant time; 401 otherwise.
 * The unix socket (mode 0600) needs none: only the daemon's own account can connect to it.
 */
import { chmod, unlink } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { isLoopbackHost, type ListenAddress } from "./listen-address.ts";
import { bearerToken, tokensEqual } from "./control-token.ts";
import { UsageError } from "../errors.ts";

export interface RouteRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** the parsed JSON body (undefined when the request had none) */
  body: unknown;
}

export interface RouteResponse {
  status: number;
  /** serialised as JSON unless `text` is given */
  json?: unknown;
  text?: string;
  contentType?: string;
}

export interface Route {
  method: "GET" | "POST";
  path: string;
  /** may be called from a page of the configured --cors-origin */
  browser?: boolean;
  /** needs no bearer token (health and metrics) */
  open?: boolean;
  handle(req: RouteRequest): Promise<RouteResponse>;
}

/** Thrown by handlers for a client error: answered as `{error: message}` with `status`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** extra response headers, e.g. Retry-After on a 429 */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface ControlServerOptions {
  routes: Route[];
  corsOrigin?: string;
  maxBodyBytes: number;
  /** the bearer token every TCP request to a route not marked `open` must carry */
  token?: string;
  /** listening beyond loopback (--listen-public): any Host header is accepted */
  public?: boolean;
  /** called once per answered request (metrics, debug logs) */
  onResponse?(info: { method: string; route: string; status: number; ms: number }): void;
  /** an unexpected handler error (answered 500) */
  onError?(error: unknown, route: string): void;
}

export interface ControlServer {
  /** the bound address (the real port when 0 was asked for) */
  address: ListenAddress;
  /** Stops accepting, lets requests in flight finish for up to graceMs, then cuts the rest. */
  close(graceMs?: number): Promise<void>;
}

export async function startControlServer(addr: ListenAddress, options: ControlServerOptions): Promise<ControlServer> {
  let closing: Promise<void> | undefined;
  /** answers not sent yet: once closing, each ends its keep-alive connection instead of idling on it */
  const unanswered = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    if (closing) res.setHeader("connection", "close");
    unanswered.add(res);
    res.once("close", () => unanswered.delete(res));
    void dispatch(req, res, options, addr);
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  if (addr.kind === "unix") await clearStaleSocket(addr.path);
  await listen(server, addr);
  let bound: ListenAddress = addr;
  if (addr.kind === "unix") {
    await chmod(addr.path, 0o600);
  } else {
    const a = server.address() as AddressInfo;
    bound = { kind: "tcp", host: addr.host, port: a.port };
  }
  return {
    address: bound,
    close(graceMs = 5000) {
      for (const res of unanswered) if (!res.headersSent) res.setHeader("connection", "close");
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }).then(async () => {
        if (addr.kind === "unix") await unlink(addr.path).catch(() => undefined);
      });
      return closing;
    },
  };
}

function listen(server: Server, addr: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = addr.kind === "unix" ? addr.path : `${addr.host}:${addr.port}`;
      const why = err.code === "EADDRINUSE" ? "address already in use" : err.code === "EACCES" ? "permission denied" : err.message;
      reject(new UsageError(`control API: cannot listen on ${where}: ${why}`));
    };
    server.once("error", onError);
    const done = () => {
      server.off("error", onError);
      resolve();
    };
    if (addr.kind === "unix") {
      const old = process.umask(0o177); // the socket is created 0600, never briefly wider
      try {
        server.listen(addr.path, done);
      } finally {
        process.umask(old);
      }
    } else {
      server.listen(addr.port, addr.host, done);
    }
  });
}

/** A socket file left by a daemon that died is removed; one a live daemon answers on is not. */
async function clearStaleSocket(file: string): Promise<void> {
  const live = await new Promise<boolean>((resolve) => {
    const s = connect(file);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
  if (live) throw new UsageError(`--socket ${file}: another process is already listening on it`);
  await unlink(file).catch(() => undefined);
}

async function dispatch(req: IncomingMessage, res: ServerResponse, o: ControlServerOptions, addr: ListenAddress): Promise<void> {
  const started = performance.now();
  const method = req.method ?? "GET";
  const url = new URL(req.url ?? "/", "http://control");
  const candidates = o.routes.filter((r) => r.path === url.pathname);
  const route = candidates.find((r) => r.method === method);
  const label = candidates[0]?.path ?? "unknown";
  const origin = req.headers.origin;
  const corsAllowed = origin !== undefined && origin === o.corsOrigin && candidates.some((r) => r.browser);
  const answer = (status: number, payload: RouteResponse | { error: string }) => {
    const r: RouteResponse = "error" in payload ? { status, json: payload } : payload;
    const body = r.text ?? JSON.stringify(r.json ?? {});
    res.statusCode = status;
    res.setHeader("content-type", r.contentType ?? (r.text !== undefined ? "text/plain; charset=utf-8" : "application/json"));
    res.setHeader("cache-control", "no-store");
    if (corsAllowed) {
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("vary", "Origin");
    }
    res.end(body);
    o.onResponse?.({ method, route: label, status, ms: performance.now() - started });
  };
  try {
    if (addr.kind === "tcp" && !o.public && !hostIsLoopback(req.headers.host)) {
      return answer(403, { error: `Host header "${req.headers.host ?? ""}": expected a loopback host` });
    }
    if (origin !== undefined && !corsAllowed) {
      return answer(403, {
        error: `Origin ${origin}: browsers may only call ${o.routes.filter((r) => r.browser).map((r) => r.path).join(", ")} from the --cors-origin`,
      });
    }
    if (method === "OPTIONS" && candidates.length > 0) {
      res.setHeader("access-control-allow-methods", [...new Set(candidates.map((r) => r.method)), "OPTIONS"].join(", "));
      res.setHeader("access-control-allow-headers", "content-type, authorization");
      res.setHeader("access-control-max-age", "600");
      req.resume();
      return answer(204, { status: 204, text: "" });
    }
    if (addr.kind === "tcp" && !(route?.open ?? candidates.every((r) => r.open)) && !authorized(req, o.token)) {
      req.resume();
      res.setHeader("www-authenticate", 'Bearer realm="mudsync"');
      const sent = req.headers.authorization !== undefined;
      return answer(401, {
        error: sent
          ? "authorization: the bearer token does not match this daemon's token file"
          : "authorization: expected Authorization: Bearer <token>, the token in the daemon's token file (<store>/control-token or its --token-file)",
      });
    }
    if (!route) {
      req.resume();
      if (candidates.length > 0) {
        res.setHeader("allow", candidates.map((r) => r.method).join(", "));
        return answer(405, { error: `${method} ${url.pathname}: expected ${candidates.map((r) => r.method).join(" or ")}` });
      }
      return answer(404, { error: `no route ${method} ${url.pathname}` });
    }
    const body = method === "POST" ? await readJsonBody(req, o.maxBodyBytes) : (req.resume(), undefined);
    const out = await route.handle({ method, path: url.pathname, query: url.searchParams, body });
    answer(out.status, out);
  } catch (err) {
    if (err instanceof HttpError) {
      for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
      return answer(err.status, { error: err.message });
    }
    o.onError?.(err, label);
    answer(500, { error: `internal error: ${err instanceof Error ? err.message : String(err)}` });
  }
}

/** Whether the request carries the daemon's token (no token configured: nobody is). */
function authorized(req: IncomingMessage, token: string | undefined): boolean {
  const given = bearerToken(req.headers.authorization);
  return token !== undefined && given !== undefined && tokensEqual(given, token);
}

function hostIsLoopback(host: string | undefined): boolean {
  if (!host) return false;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  const name = bracketed ? bracketed[1]! : host.replace(/:\d+$/, "");
  return isLoopbackHost(name);
}

/**
 * Reads a JSON body up to `max` bytes; no body -> undefined. An oversized body is read to its end
 * and discarded (so the client sees the 413 instead of a reset), unless it goes on far past the
 * limit, in which case the connection is cut.
 */
async function readJsonBody(req: IncomingMessage, max: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max * 4 + 1_048_576) req.destroy();
    else if (size <= max) chunks.push(chunk as Buffer);
  }
  if (size > max || declared > max) {
    throw new HttpError(413, `body: ${Math.max(size, declared || 0)} bytes is over the limit of ${max} bytes`);
  }
  if (size === 0) return undefined;
  const type = String(req.headers["content-type"] ?? "");
  if (!/^application\/json\b/i.test(type)) {
    throw new HttpError(415, `content-type "${type}": expected application/json`);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `body: not valid JSON (${(err as Error).message}); expected a JSON object`);
  }
}
