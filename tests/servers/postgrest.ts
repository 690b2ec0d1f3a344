/**
 * A small HTTP server speaking exactly the parts of PostgREST the Supabase sink uses:
 *   POST /rest/v1/rpc/<fn>      JSON body of named args -> `select <schema>.<fn>(name => $1, …)`
 *   GET  /rest/v1/<table>?select=*&<col>=eq.<value>[&limit=n]
 * Schema from Content-Profile (POST) / Accept-Profile (GET). Functions and tables come from
 * allow-lists. The bearer JWT is verified (HS256); then, in one transaction, `set local role`
 * (the token's role, anon without a token), `request.jwt.claims` set with set_config, and the
 * call — so RLS policies and `current_setting('request.jwt.claims')` behave as on Supabase.
 * Errors use PostgREST's statuses and `{code, details, hint, message}` bodies. `injectFault`
 * makes the next requests fail or stall, to exercise the sink's error handling over real HTTP.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DbBackend } from "./db-backend.ts";
import { verifyJwt, TEST_JWT_SECRET, type JwtClaims } from "./jwt.ts";
import { postgresErrorResponse, type PostgrestErrorBody } from "./postgrest-errors.ts";

export interface PostgrestOptions {
  db: DbBackend;
  /** exposed schemas; the first is the default */
  schemas: string[];
  /** function name -> its argument names, in order (all passed as jsonb) */
  functions: Record<string, string[]>;
  /** tables readable with GET */
  tables: string[];
  jwtSecret?: string;
}

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
  readonly counts = { rpc: 0, read: 0 };

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
    if (req.method === "GET" && !rest.includes("/")) {
      const schema = this.schemaFrom(req.headers["accept-profile"]);
      this.counts.read++;
      const rows = await this.read(schema, rest, url.searchParams, role, claims);
      return send(res, 200, rows);
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
    const argNames = IDENT.test(fn) ? this.options.functions[fn] : undefined;
    if (!argNames) {
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
    if (given.length !== argNames.length || !argNames.every((n) => given.includes(n))) {
      throw pgrst(404, "PGRST202", `Could not find the function ${schema}.${fn}(${given.join(", ")}) in the schema cache`);
    }
    const params = argNames.map((n) => JSON.stringify((args as Record<string, unknown>)[n]));
    const call = argNames.map((n, i) => `${q(n)} => $${i + 1}::jsonb`).join(", ");
    const rows = await this.inRole(role, claims, (query) =>
      query(`select ${q(schema)}.${q(fn)}(${call}) as result`, params),
    );
    return rows[0]?.result ?? null;
  }

  private async read(schema: string, table: string, search: URLSearchParams, role: string, claims: JwtClaims) {
    if (!IDENT.test(table) || !this.options.tables.includes(table)) {
      throw pgrst(404, "PGRST205", `Could not find the table '${schema}.${table}' in the schema cache`);
    }
    const where: string[] = [];
    const params: string[] = [];
    let limit = "";
    for (const [key, value] of search) {
      if (key === "select") {
        if (value !== "*") throw pgrst(400, "PGRST100", `only select=* is supported, got "${value}"`);
      } else if (key === "limit") {
        if (!/^\d+$/.test(value)) throw pgrst(400, "PGRST100", `limit must be an integer, got "${value}"`);
        limit = ` limit ${value}`;
      } else if (IDENT.test(key) && value.startsWith("eq.")) {
        params.push(value.slice(3));
        where.push(`${q(key)} = $${params.length}`);
      } else {
        throw pgrst(400, "PGRST100", `unsupported query parameter "${key}=${value}" (only <column>=eq.<value>)`);
      }
    }
    const sql =
      `select coalesce(json_agg(t), '[]'::json) as rows from (select * from ${q(schema)}.${q(table)}` +
      `${where.length ? ` where ${where.join(" and ")}` : ""}${limit}) t`;
    const rows = await this.inRole(role, claims, (query) => query(sql, params));
    return rows[0]?.rows ?? [];
  }

  private async inRole(
    role: string,
    claims: JwtClaims,
    fn: (query: (sql: string, params?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>) => Promise<{ rows: Record<string, unknown>[] }>,
  ): Promise<Record<string, unknown>[]> {
    try {
      return await this.options.db.transaction(async (query) => {
        await query(`set local role ${q(role)}`);
        await query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
        return (await fn(query)).rows;
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
