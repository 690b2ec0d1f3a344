/**
 * A small HTTP server speaking exactly the part of PostgREST the Supabase sink uses:
 *   POST /rest/v1/rpc/<fn>   JSON body of named args -> `select <schema>.<fn>(name => $1::type, …)`
 * (apply_batch(events) and get_row(entity, entity_id)). Schema from the Content-Profile header.
 * Functions and their argument types come from an allow-list. The bearer JWT is verified (HS256); then, in one transaction, `set local role`
 * (the token's role, anon without a token), `request.jwt.claims` set with set_config, and the
 * call — so RLS policies and `current_setting('request.jwt.claims')` behave as on Supabase.
 * Errors use PostgREST's statuses and `{code, details, hint, message}` bodies. `injectFault`
 * makes the next requests fail or stall, to exercise the sink's error handling over real HTTP.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { SqlClient, SqlQueryable } from "../../src/postgres/sql-client.ts";
import { verifyJwt, TEST_JWT_SECRET, type JwtClaims } from "./jwt.ts";
import { postgresErrorResponse, type PostgrestErrorBody } from "./postgrest-errors.ts";

export interface PostgrestOptions {
  db: SqlClient;
  /** exposed schemas; the first is the default */
  schemas: string[];
  /** function name -> its arguments (name -> SQL type), in order */
  functions: Record<string, Record<string, ArgType>>;
  jwtSecret?: string;
}

export type ArgType = "jsonb" | "text";

export interface Fault {
  status?: number;
  body?: unknown;
  /** hold the request this long before answering (to trigger client timeouts) */
  delayMs?: number;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
const ROLES = new Set(["anon", "authenticated", "service_role"]);
const MAX_BODY = 16 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: PostgrestErrorBody,
  ) {
    super(body.message);
  }
}

const pgrst = (status: number, code: string, message: string, hint: string | null = null) =>
  new HttpError(status, { code, message, details: null, hint });

export class FakePostgrest {
  private readonly faults: Fault[] = [];
  /** requests served, by route kind (tests assert one round trip per batch) */
  readonly counts = { rpc: 0 };

  constructor(private readonly options: PostgrestOptions) {}

  /** The next `times` requests fail (or stall) this way. */
  injectFault(fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push(fault);
  }

  /** Handles /rest/v1/…; returns false for other paths. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!url.pathname.startsWith("/rest/v1/")) return false;
    void this.serve(req, res, url).catch((err: unknown) => {
      const { status, body } =
        err instanceof HttpError ? { status: err.status, body: err.body } : postgresErrorResponse(err, true);
      send(res, status, body);
    });
    return true;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const body = await readBody(req);
    const fault = this.faults.shift();
    if (fault) {
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (res.destroyed) return;
      if (fault.status) return send(res, fault.status, fault.body ?? { message: "injected fault" });
    }
    const claims = this.authenticate(req);
    const role = typeof claims.role === "string" ? claims.role : "anon";
    if (!ROLES.has(role)) throw pgrst(401, "PGRST301", `role "${role}" is not allowed`);
    const rest = url.pathname.slice("/rest/v1/".length);
    if (req.method === "POST" && rest.startsWith("rpc/")) {
      const schema = this.schemaFrom(req.headers["content-profile"]);
      this.counts.rpc++;
      const value = await this.rpc(schema, rest.slice(4), body, role, claims);
      return send(res, 200, value);
    }
    throw pgrst(405, "PGRST117", `Unsupported HTTP method: ${req.method} ${url.pathname}`);
  }

  private authenticate(req: IncomingMessage): JwtClaims {
    const header = req.headers.authorization;
    if (!header) return { role: "anon" };
    const m = /^Bearer (.+)$/i.exec(header);
    if (!m?.[1]) throw pgrst(401, "PGRST301", "Authorization header is not a Bearer token");
    const verified = verifyJwt(m[1], this.options.jwtSecret ?? TEST_JWT_SECRET);
    if (!verified.ok) throw pgrst(401, "PGRST301", verified.reason);
    return verified.claims;
  }

  private schemaFrom(profile: string | string[] | undefined): string {
    const schemas = this.options.schemas;
    const wanted = typeof profile === "string" ? profile : (schemas[0] ?? "public");
    if (!schemas.includes(wanted)) {
      throw pgrst(406, "PGRST106", `The schema must be one of the following: ${schemas.join(", ")}`);
    }
    return wanted;
  }

  private async rpc(schema: string, fn: string, raw: string, role: string, claims: JwtClaims): Promise<unknown> {
    const signature = IDENT.test(fn) ? this.options.functions[fn] : undefined;
    if (!signature) {
      throw pgrst(404, "PGRST202", `Could not find the function ${schema}.${fn} in the schema cache`);
    }
    let args: unknown;
    try {
      args = raw === "" ? {} : JSON.parse(raw);
    } catch {
      throw pgrst(400, "PGRST102", "Empty or invalid json");
    }
    if (typeof args !== "object" || args === null || Array.isArray(args)) {
      throw pgrst(400, "PGRST102", "Empty or invalid json");
    }
    const given = Object.keys(args);
    const argNames = Object.keys(signature);
    if (given.length !== argNames.length || !argNames.every((n) => given.includes(n))) {
      throw pgrst(404, "PGRST202", `Could not find the function ${schema}.${fn}(${given.join(", ")}) in the schema cache`);
    }
    const params = argNames.map((n) => {
      const value = (args as Record<string, unknown>)[n];
      if (signature[n] === "jsonb") return JSON.stringify(value);
      if (typeof value !== "string") throw pgrst(400, "22P02", `argument ${n}: expected text, got ${typeof value}`);
      return value;
    });
    const call = argNames.map((n, i) => `${q(n)} => $${i + 1}::${signature[n]}`).join(", ");
    const rows = await this.inRole(role, claims, (tx) =>
      tx.query(`select ${q(schema)}.${q(fn)}(${call}) as result`, params),
    );
    return rows[0]?.result ?? null;
  }

  private async inRole(
    role: string,
    claims: JwtClaims,
    fn: (tx: SqlQueryable) => Promise<{ rows: Record<string, unknown>[] }>,
  ): Promise<Record<string, unknown>[]> {
    try {
      return await this.options.db.transaction(async (tx) => {
        await tx.query(`set local role ${q(role)}`);
        await tx.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
        return (await fn(tx)).rows;
      });
    } catch (err) {
      const { status, body } = postgresErrorResponse(err, role !== "anon");
      throw new HttpError(status, body);
    }
  }
}

function q(ident: string): string {
  if (!IDENT.test(ident)) throw pgrst(400, "PGRST100", `invalid identifier "${ident}"`);
  return `"${ident}"`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(pgrst(413, "PGRST413", "request body too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
