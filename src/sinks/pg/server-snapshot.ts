/**
 * A read-only look at a mudsync server for `doctor --db`: which event ids it has applied, and the
 * current versions of rows. One connection in one `REPEATABLE READ READ ONLY` transaction, so every
 * answer comes from one snapshot and nothing can be written. Table names come from the entity
 * registry only, never from event text.
 */
import type pg from "pg";
import { SinkSetupError, StoreUnavailableError, UsageError } from "../../errors.ts";
import { MAX_PAYLOAD_BYTES } from "../../core/value-limits.ts";
import { redactUrl } from "../../postgres/pg-client.ts";
import { openReadOnlySnapshot } from "../../postgres/read-only-snapshot.ts";

export interface ServerSnapshotOptions {
  url: string;
  /** mudsync's schema on the server (default mudsync) */
  schema?: string;
  connectTimeoutMs?: number;
}

interface Registered {
  table: string;
}

export class ServerSnapshot {
  private constructor(
    private readonly client: pg.Client,
    private readonly schema: string,
    private readonly registry: Map<string, Registered>,
    /** `max_payload_bytes` from the server's settings */
    readonly maxPayloadBytes: number,
    /** the URL with its password masked */
    readonly label: string,
  ) {}

  static async open(options: ServerSnapshotOptions): Promise<ServerSnapshot> {
    const label = redactUrl(options.url);
    if (!/^postgres(ql)?:\/\//.test(options.url)) throw new UsageError(`--db "${label}": expected a postgres:// or postgresql:// URL`);
    const schema = options.schema ?? "mudsync";
    try {
      const { client, value } = await openReadOnlySnapshot(
        { url: options.url, applicationName: "mudsync-doctor", connectTimeoutMs: options.connectTimeoutMs },
        async (c) => {
          const q = (name: string) => c.escapeIdentifier(schema) + "." + c.escapeIdentifier(name);
          const found = await c.query<{ t: string | null }>("SELECT to_regclass($1)::text AS t", [q("applied_events")]);
          if (!found.rows[0]?.t) {
            throw new SinkSetupError(`server ${label}: no mudsync schema "${schema}" (no ${schema}.applied_events); run \`mudsync --db URL db migrate\` first`);
          }
          const entities = await c.query<{ name: string; table_name: string }>(`SELECT name, table_name FROM ${q("entities")}`);
          const limit = await c.query<{ v: unknown }>(`SELECT value AS v FROM ${q("settings")} WHERE key = 'max_payload_bytes'`);
          const max = Number(limit.rows[0]?.v ?? MAX_PAYLOAD_BYTES);
          const registry = new Map(entities.rows.map((r) => [r.name, { table: r.table_name }]));
          return { registry, max: Number.isFinite(max) ? max : MAX_PAYLOAD_BYTES };
        },
      );
      return new ServerSnapshot(client, schema, value.registry, value.max, label);
    } catch (err) {
      if (err instanceof SinkSetupError) throw err;
      const e = err as { code?: string; message?: string };
      const text = `${e.code ? `${e.code}: ` : ""}${(e.message ?? String(err)).split("\n")[0]}`;
      if (e.code === "3D000" || e.code === "28000" || e.code === "28P01") throw new SinkSetupError(`server ${label}: ${text}`, e.code, { cause: err });
      throw new StoreUnavailableError(`server ${label}: cannot reach the server (${text})`, { cause: err });
    }
  }

  /** Entity names in the server's registry. */
  entities(): Set<string> {
    return new Set(this.registry.keys());
  }

  /** Which of these event ids the server has applied. */
  async appliedIds(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const { rows } = await this.client.query<{ id: string }>(
      `SELECT event_id AS id FROM ${this.table("applied_events")} WHERE event_id = ANY($1::text[])`,
      [ids],
    );
    return new Set(rows.map((r) => r.id));
  }

  /** Current versions of rows, keyed `entity:id`; rows that do not exist and unknown entities are absent. */
  async rowVersions(keys: readonly { entity: string; id: string }[]): Promise<Map<string, number>> {
    const byEntity = new Map<string, Set<string>>();
    for (const k of keys) {
      if (!this.registry.has(k.entity)) continue;
      let ids = byEntity.get(k.entity);
      if (!ids) byEntity.set(k.entity, (ids = new Set()));
      ids.add(k.id);
    }
    const out = new Map<string, number>();
    for (const [entity, ids] of byEntity) {
      const { rows } = await this.client.query<{ id: string; version: string }>(
        `SELECT id, version FROM ${this.table(this.registry.get(entity)!.table)} WHERE id = ANY($1::text[])`,
        [[...ids]],
      );
      for (const r of rows) out.set(`${entity}:${r.id}`, Number(r.version));
    }
    return out;
  }

  async close(): Promise<void> {
    await this.client.query("ROLLBACK").catch(() => {});
    await this.client.end().catch(() => {});
  }

  private table(name: string): string {
    return `${this.client.escapeIdentifier(this.schema)}.${this.client.escapeIdentifier(name)}`;
  }
}
