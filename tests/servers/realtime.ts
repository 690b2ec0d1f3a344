/**
 * A WebSocket server speaking the parts of the Supabase Realtime (Phoenix) protocol that
 * realtime-js 2.109 uses for `postgres_changes`, serializer vsn 2.0.0 (JSON arrays
 * `[join_ref, ref, topic, event, payload]`):
 *   heartbeat on topic "phoenix"             -> phx_reply ok
 *   phx_join with config.postgres_changes    -> phx_reply ok {postgres_changes: [{id, …binding}]},
 *                                               then a "system" message, as the real server sends
 *   access_token / phx_leave                 -> phx_reply ok
 * Changes come from LISTEN on `<schema>_changes` (the entity tables' NOTIFY trigger). For each,
 * subscribers whose bindings match get a `postgres_changes` message `{ids, data: {schema, table,
 * commit_timestamp, type, columns, record, old_record, errors}}`. As on Supabase, INSERT/UPDATE
 * records are read under the subscriber's role and JWT claims, so RLS decides who sees a row;
 * DELETE events carry only the primary key (old_record = {id}) and are not filtered by RLS.
 * Unlike the real server (which decodes the WAL), the record is the row as read when the
 * notification arrives, with the change's own version and author.
 */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { SqlClient } from "../../src/postgres/sql-client.ts";
import { TEST_JWT_SECRET, verifyJwt, type JwtClaims } from "./jwt.ts";

export interface RealtimeOptions {
  db: SqlClient;
  schema: string;
  /** entity name (as in the NOTIFY payload) -> table */
  entityTables: Record<string, string>;
  jwtSecret?: string;
}

type Frame = [string | null, string | null, string, string, Record<string, unknown>];

interface Binding {
  id: number;
  event: string;
  schema: string;
  table?: string;
  filter?: string;
}

interface Subscription {
  socket: WebSocket;
  topic: string;
  joinRef: string | null;
  claims: JwtClaims;
  bindings: Binding[];
}

const EVENTS = new Set(["*", "INSERT", "UPDATE", "DELETE"]);

export class FakeRealtime {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly subscriptions = new Set<Subscription>();
  private unlisten: (() => Promise<void>) | undefined;
  private nextId = 1000;
  private pending: Promise<void> = Promise.resolve();
  /** frames delivered as postgres_changes (tests assert on it) */
  delivered = 0;

  constructor(private readonly options: RealtimeOptions) {}

  async start(server: Server): Promise<void> {
    this.unlisten = await this.options.db.listen(`${this.options.schema}_changes`, (payload) => {
      // deliver in commit order, one notification at a time
      this.pending = this.pending.then(() => this.onNotify(payload)).catch(() => {});
    });
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (url.pathname !== "/realtime/v1/websocket") return socket.destroy();
      const apikey = url.searchParams.get("apikey");
      if (!apikey || !verifyJwt(apikey, this.secret).ok) {
        socket.end("HTTP/1.1 401 Unauthorized\r\n\r\n");
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, apikey));
    });
  }

  async close(): Promise<void> {
    await this.unlisten?.();
    await this.pending;
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private get secret(): string {
    return this.options.jwtSecret ?? TEST_JWT_SECRET;
  }

  private onConnection(socket: WebSocket, apikey: string): void {
    socket.on("message", (data) => {
      let frame: Frame;
      try {
        frame = JSON.parse(String(data)) as Frame;
        if (!Array.isArray(frame) || frame.length !== 5) throw new Error("not a 5-element array");
      } catch {
        socket.close(1003, "expected vsn 2.0.0 JSON frames");
        return;
      }
      this.onFrame(socket, apikey, frame);
    });
    socket.on("close", () => {
      for (const s of this.subscriptions) if (s.socket === socket) this.subscriptions.delete(s);
    });
  }

  private onFrame(socket: WebSocket, apikey: string, [joinRef, ref, topic, event, payload]: Frame): void {
    const reply = (status: "ok" | "error", response: Record<string, unknown>) =>
      send(socket, [joinRef, ref, topic, "phx_reply", { status, response }]);
    if (topic === "phoenix" && event === "heartbeat") return reply("ok", {});
    if (event === "phx_join") return this.join(socket, apikey, joinRef, topic, payload, reply);
    const sub = [...this.subscriptions].find((s) => s.socket === socket && s.topic === topic);
    if (event === "access_token") {
      const token = typeof payload.access_token === "string" ? payload.access_token : "";
      const verified = verifyJwt(token, this.secret);
      if (!verified.ok) return reply("error", { reason: verified.reason });
      if (sub) sub.claims = verified.claims;
      return reply("ok", {});
    }
    if (event === "phx_leave") {
      if (sub) this.subscriptions.delete(sub);
      return reply("ok", {});
    }
    reply("error", { reason: `unsupported event ${event}` });
  }

  private join(
    socket: WebSocket,
    apikey: string,
    joinRef: string | null,
    topic: string,
    payload: Record<string, unknown>,
    reply: (status: "ok" | "error", response: Record<string, unknown>) => void,
  ): void {
    if (!topic.startsWith("realtime:")) return reply("error", { reason: `topic must start with "realtime:"` });
    const token = typeof payload.access_token === "string" ? payload.access_token : apikey;
    const verified = verifyJwt(token, this.secret);
    if (!verified.ok) return reply("error", { reason: `Invalid JWT: ${verified.reason}` });
    const config = (payload.config ?? {}) as { postgres_changes?: unknown };
    const wanted = Array.isArray(config.postgres_changes) ? (config.postgres_changes as Record<string, unknown>[]) : [];
    const bindings: Binding[] = [];
    const tables = new Set(Object.values(this.options.entityTables));
    for (const b of wanted) {
      const event = String(b.event ?? "");
      const table = typeof b.table === "string" ? b.table : undefined;
      if (!EVENTS.has(event)) return reply("error", { reason: `invalid event "${event}"` });
      if (b.schema !== this.options.schema) return reply("error", { reason: `schema "${String(b.schema)}" is not published` });
      if (table && !tables.has(table)) return reply("error", { reason: `table "${table}" is not published` });
      if (b.filter) return reply("error", { reason: "filters are not supported by this test server" });
      bindings.push({ id: this.nextId++, event, schema: this.options.schema, ...(table ? { table } : {}) });
    }
    this.subscriptions.add({ socket, topic, joinRef, claims: verified.claims, bindings });
    reply("ok", { postgres_changes: bindings });
    send(socket, [joinRef, null, topic, "system", {
      channel: topic.slice("realtime:".length),
      extension: "postgres_changes",
      message: "Subscribed to PostgreSQL",
      status: "ok",
    }]);
  }

  private async onNotify(text: string): Promise<void> {
    let change: { entity?: unknown; id?: unknown; op?: unknown; version?: unknown; changedBy?: unknown };
    try {
      change = JSON.parse(text) as typeof change;
    } catch {
      return;
    }
    const table = typeof change.entity === "string" ? this.options.entityTables[change.entity] : undefined;
    const op = typeof change.op === "string" ? change.op.toUpperCase() : "";
    if (!table || !["INSERT", "UPDATE", "DELETE"].includes(op) || change.id === undefined) return;
    const commit_timestamp = new Date().toISOString();
    for (const sub of this.subscriptions) {
      const ids = sub.bindings
        .filter((b) => (b.table === undefined || b.table === table) && (b.event === "*" || b.event === op))
        .map((b) => b.id);
      if (ids.length === 0) continue;
      let record: Record<string, unknown> = {};
      let old_record: Record<string, unknown> = {};
      let columns: { name: string; type: string }[] = [];
      if (op === "DELETE") {
        old_record = { id: change.id };
        columns = [{ name: "id", type: "text" }];
      } else {
        const seen = await this.readAs(sub.claims, table, String(change.id));
        if (seen === "hidden") continue; // RLS hides the row from this subscriber
        // the row as of now (the real server sends it as of the commit): the change's own version
        // and author win over a later state; a row deleted since is sent from the payload alone
        const base = seen === "gone" ? { id: change.id } : seen.record;
        record = { ...base, version: change.version, updated_by: change.changedBy ?? null };
        columns = seen === "gone" ? [] : seen.columns;
      }
      send(sub.socket, [sub.joinRef, null, sub.topic, "postgres_changes", {
        ids,
        data: { schema: this.options.schema, table, commit_timestamp, type: op, columns, record, old_record, errors: null },
      }]);
      this.delivered++;
    }
  }

  /** The row as the subscriber may see it: its record, "hidden" by RLS, or "gone" (deleted since). */
  private async readAs(claims: JwtClaims, table: string, id: string) {
    const role = typeof claims.role === "string" ? claims.role : "anon";
    const rel = `"${this.options.schema}"."${table}"`;
    try {
      return await this.options.db.transaction(async (tx) => {
        // one snapshot for the existence check and the read under the subscriber's role: a row
        // deleted between the two would otherwise look hidden by RLS and the change be dropped
        await tx.query("set transaction isolation level repeatable read");
        const exists = await tx.query<{ found: boolean }>(`select exists(select 1 from ${rel} where id::text = $1) as found`, [id]);
        if (!exists.rows[0]?.found) return "gone" as const;
        const cols = await tx.query<{ name: string; type: string }>(
          `select a.attname as name, t.typname as type from pg_attribute a join pg_type t on t.oid = a.atttypid
            where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`,
          [rel],
        );
        await tx.query(`set local role "${role.replace(/"/g, "")}"`);
        await tx.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
        const rows = await tx.query<{ record: Record<string, unknown> }>(`select to_jsonb(t) as record from ${rel} t where t.id::text = $1`, [id]);
        const record = rows.rows[0]?.record;
        return record ? { record, columns: cols.rows } : ("hidden" as const);
      });
    } catch {
      return "hidden" as const; // no privilege on the table: the subscriber sees nothing
    }
  }
}

function send(socket: WebSocket, frame: Frame): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
}
