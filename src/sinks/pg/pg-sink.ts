/**
 * The Postgres sink: every write goes through `<schema>.apply_batch` (one query per batch), reads
 * through `<schema>.get_row`. It works over any SqlClient, so the PGlite sink extends it.
 */
import { MudsyncError, PermanentSinkError, SinkSetupError, UsageError } from "../../errors.ts";
import type {
  ApplyResult,
  AuditEntry,
  AuditQuery,
  ChangeFeed,
  ConflictRecord,
  ConflictTake,
  DryRunReport,
  ResolveConflictResult,
  RolledBackSink,
  RowChange,
  RowState,
  Sink,
  SinkCapabilities,
  WireEvent,
} from "../../core/ports.ts";
import { classifySinkError } from "../../postgres/classify-error.ts";
import { type MigrateResult, type MigrationState, migrate, migrationStatus } from "../sink-migrations.ts";
import { SavepointClient } from "./savepoint-client.ts";
import type { SqlClient, SqlQueryable } from "../../postgres/sql-client.ts";
import { quoteSqlIdentifier } from "../../postgres/sql-identifier.ts";

export interface PgSinkOptions {
  /** Postgres schema holding mudsync's tables and functions (validated lower-case identifier) */
  schema: string;
}

interface ConflictRow {
  id: string | number;
  event_id: string;
  entity: string;
  entity_id: string;
  base_version: string | number | null;
  current_version: string | number | null;
  local: WireEvent;
  remote: RowState | null;
  status: "open" | "resolved";
  resolution: ConflictTake | null;
  merged: unknown;
  created_at: Date | string;
  created_by: string | null;
  resolved_at: Date | string | null;
  resolved_by: string | null;
}

interface AuditRow {
  id: string | number;
  at: Date | string;
  batch_id: string | null;
  event_id: string | null;
  entity: string | null;
  entity_id: string | null;
  decision: string;
  version: string | number | null;
  reason: string | null;
  actor: string | null;
  position_in_batch: number | null;
}

function toAuditEntry(r: AuditRow): AuditEntry {
  return {
    id: Number(r.id),
    at: iso(r.at)!,
    batchId: r.batch_id,
    eventId: r.event_id,
    entity: r.entity,
    entityId: r.entity_id,
    decision: r.decision,
    version: num(r.version),
    reason: r.reason,
    actor: r.actor,
    positionInBatch: r.position_in_batch,
  };
}

const iso = (v: Date | string | null): string | null => (v === null ? null : v instanceof Date ? v.toISOString() : v);
const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

function toConflict(r: ConflictRow): ConflictRecord {
  return {
    id: Number(r.id),
    eventId: r.event_id,
    entity: r.entity,
    entityId: r.entity_id,
    baseVersion: num(r.base_version),
    currentVersion: num(r.current_version),
    local: r.local,
    remote: r.remote,
    status: r.status,
    resolution: r.resolution,
    merged: r.merged,
    createdAt: iso(r.created_at) ?? "",
    createdBy: r.created_by,
    resolvedAt: iso(r.resolved_at),
    resolvedBy: r.resolved_by,
  };
}

/** jsonb row state from get_row -> RowState (bigint versions arrive as JSON numbers). */
export function toRowState(v: unknown): RowState | null {
  if (v === null || v === undefined) return null;
  const o = v as Record<string, unknown>;
  return {
    entity: String(o.entity),
    id: String(o.id),
    version: Number(o.version),
    data: o.data,
    ...(o.updatedAt ? { updatedAt: String(o.updatedAt) } : {}),
    ...(o.updatedBy ? { updatedBy: String(o.updatedBy) } : {}),
  };
}

export class PgSink implements RolledBackSink, ChangeFeed {
  readonly name: string = "pg";
  readonly capabilities: SinkCapabilities = { supportsTransactions: true, supportsListen: true, supportsDryRun: true };
  /** NOTIFY channel of row changes */
  readonly channel: string;
  /** the schema as a quoted SQL identifier */
  protected readonly schemaSql: string;

  constructor(
    readonly client: SqlClient,
    readonly options: PgSinkOptions,
  ) {
    this.schemaSql = quoteSqlIdentifier(options.schema);
    this.channel = `${options.schema}_changes`;
  }

  migrate(): Promise<MigrateResult> {
    return this.run("migrating", () => migrate(this.client, { schema: this.options.schema }));
  }

  migrationStatus(): Promise<MigrationState> {
    return this.run("reading the migration state", () => migrationStatus(this.client, { schema: this.options.schema }));
  }

  async serverVersion(): Promise<string> {
    const { rows } = await this.run("reading the server version", () =>
      this.client.query<{ v: string }>("select current_setting('server_version') as v"),
    );
    return rows[0]?.v ?? "unknown";
  }

  protected async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      // already a domain error (a bad flag, a changed migration file, a classified sink error)
      if (err instanceof MudsyncError) throw err;
      const code = (err as { code?: unknown } | null)?.code;
      if (code === "42883" || code === "3F000" || code === "42P01") {
        throw new SinkSetupError(
          `${this.name} sink: ${what}: schema "${this.options.schema}" is not installed or out of date on this server; ` +
            "run `mudsync db migrate` first",
          String(code),
          { cause: err },
        );
      }
      throw classifySinkError(err, `${this.name} sink: ${what}`);
    }
  }

  private async callApply(q: SqlQueryable, events: WireEvent[]): Promise<ApplyResult[]> {
    const { rows } = await q.query<{ r: ApplyResult[] }>(`select ${this.schemaSql}.apply_batch($1::jsonb) as r`, [
      JSON.stringify(events),
    ]);
    const results = rows[0]?.r;
    if (!Array.isArray(results) || results.length !== events.length) {
      throw new Error(`apply_batch returned ${Array.isArray(results) ? results.length : "no"} results for ${events.length} events`);
    }
    return results;
  }

  async applyBatch(events: WireEvent[]): Promise<ApplyResult[]> {
    if (events.length === 0) return [];
    return this.run(`applying a batch of ${events.length}`, () => this.callApply(this.client, events));
  }

  async readRows(keys: { entity: string; id: string }[]): Promise<(RowState | null)[]> {
    if (keys.length === 0) return [];
    return this.run(`reading ${keys.length} rows`, () => this.rowsIn(this.client, keys));
  }

  private async rowsIn(q: SqlQueryable, keys: { entity: string; id: string }[]): Promise<(RowState | null)[]> {
    const { rows } = await q.query<{ r: unknown }>(
      `select case when exists (select 1 from ${this.schemaSql}.entities e where e.name = k ->> 'entity')
                   then ${this.schemaSql}.get_row(k ->> 'entity', k ->> 'id') end as r
         from jsonb_array_elements($1::jsonb) with ordinality as t(k, i) order by i`,
      [JSON.stringify(keys)],
    );
    return rows.map((r) => toRowState(r.r));
  }

  async dryRun(events: WireEvent[]): Promise<DryRunReport> {
    const seen = new Map<string, { entity: string; id: string }>();
    for (const e of events) {
      if (typeof e?.entity === "string" && typeof e?.entityId === "string") {
        seen.set(JSON.stringify([e.entity, e.entityId]), { entity: e.entity, id: e.entityId });
      }
    }
    const keys = [...seen.values()];
    return this.run("dry run", () =>
      this.client.transaction(
        async (tx) => {
          const before = await this.rowsIn(tx, keys);
          const results = events.length ? await this.callApply(tx, events) : [];
          const after = await this.rowsIn(tx, keys);
          return { results, rows: keys.map((k, i) => ({ ...k, before: before[i] ?? null, after: after[i] ?? null })) };
        },
        { rollback: true },
      ),
    );
  }

  /**
   * fn gets this sink over one transaction (each statement under its own savepoint, see
   * savepoint-client.ts) that is rolled back at the end, whatever fn did or threw.
   */
  async rolledBack<T>(fn: (sink: RolledBackSink) => Promise<T>): Promise<T> {
    const failed: { error?: unknown } = {};
    try {
      return await this.client.transaction(
        async (tx) => {
          const view = new PgTransactionView(new SavepointClient(tx, this.client.info), this.options, this.name);
          try {
            return await fn(view);
          } catch (err) {
            failed.error = err;
            throw err;
          }
        },
        { rollback: true },
      );
    } catch (err) {
      if ("error" in failed && err === failed.error) throw err;
      throw err instanceof UsageError ? err : classifySinkError(err, `${this.name} sink: dry run transaction`);
    }
  }

  async getRow(entity: string, id: string): Promise<RowState | null> {
    const { rows } = await this.run(`reading ${entity} ${id}`, () =>
      this.client.query<{ known: boolean; names: string[]; r: unknown }>(
        `select exists (select 1 from ${this.schemaSql}.entities where name = $1) as known,
                (select array_agg(name order by name) from ${this.schemaSql}.entities) as names,
                case when exists (select 1 from ${this.schemaSql}.entities where name = $1) then ${this.schemaSql}.get_row($1, $2) end as r`,
        [entity, id],
      ),
    );
    const row = rows[0];
    if (!row?.known) {
      throw new UsageError(`unknown entity "${entity}"; known entities: ${(row?.names ?? []).join(", ")}`);
    }
    return toRowState(row.r);
  }

  async parkConflicts(items: { event: WireEvent; current: unknown }[]): Promise<{ conflictId: number; eventId: string }[]> {
    if (items.length === 0) return [];
    const { rows } = await this.run(`parking ${items.length} conflicts`, () =>
      this.client.query<{ r: { conflictId: number; eventId: string }[] }>(`select ${this.schemaSql}.park_conflicts($1::jsonb) as r`, [
        JSON.stringify(items),
      ]),
    );
    return (rows[0]?.r ?? []).map((x) => ({ conflictId: Number(x.conflictId), eventId: x.eventId }));
  }

  async listConflicts(query: { status?: "open" | "resolved"; limit?: number } = {}): Promise<ConflictRecord[]> {
    const { rows } = await this.run("listing conflicts", () =>
      this.client.query<ConflictRow>(
        `select * from ${this.schemaSql}.conflicts where ($1::text is null or status = $1) order by id limit $2`,
        [query.status ?? null, query.limit ?? 1000],
      ),
    );
    return rows.map(toConflict);
  }

  async getConflict(id: number): Promise<ConflictRecord | null> {
    const { rows } = await this.run(`reading conflict ${id}`, () =>
      this.client.query<ConflictRow>(`select * from ${this.schemaSql}.conflicts where id = $1`, [id]),
    );
    return rows[0] ? toConflict(rows[0]) : null;
  }

  async resolveConflict(id: number, take: ConflictTake, merged?: unknown, actor?: string, expectedVersion?: number): Promise<ResolveConflictResult> {
    const { rows } = await this.run(`resolving conflict ${id}`, () =>
      this.client.query<{ r: ResolveConflictResult }>(`select ${this.schemaSql}.resolve_conflict($1, $2, $3::jsonb, $4, $5) as r`, [
        id,
        take,
        merged === undefined ? null : JSON.stringify(merged),
        actor ?? null,
        expectedVersion ?? null,
      ]),
    );
    const r = rows[0]?.r as ResolveConflictResult;
    return { ...r, conflictId: Number(r.conflictId), row: toRowState(r.row) };
  }

  async recordReplays(events: { id: string; entity?: string; entityId?: string }[], actor: string, reason: string): Promise<number> {
    if (events.length === 0) return 0;
    const items = events.map((e) => ({ id: e.id, ...(e.entity !== undefined ? { entity: e.entity } : {}), ...(e.entityId !== undefined ? { entityId: e.entityId } : {}) }));
    const { rows } = await this.run(`auditing the replay of ${events.length} events`, () =>
      this.client.query<{ n: number }>(`select ${this.schemaSql}.record_replays($1::jsonb, $2, $3) as n`, [JSON.stringify(items), actor, reason]),
    );
    return Number(rows[0]?.n ?? 0);
  }

  async listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    // every filter is a parameter; the order is one of two fixed texts
    const order = query.order === "asc" ? "asc" : "desc";
    const { rows } = await this.run("reading the audit log", () =>
      this.client.query<AuditRow>(
        `select id, at, batch_id, event_id, entity, entity_id, decision, version, reason, actor, position_in_batch
           from ${this.schemaSql}.audit_log
          where ($1::text is null or event_id = $1)
            and ($2::text is null or (entity = $2 and entity_id = $3))
            and ($4::timestamptz is null or at >= $4)
          order by at ${order}, id ${order}, position_in_batch ${order} nulls first
          limit $5`,
        [
          query.eventId ?? null,
          query.row?.entity ?? null,
          query.row?.id ?? null,
          query.since === undefined ? null : new Date(query.since).toISOString(),
          query.limit,
        ],
      ),
    );
    return rows.map(toAuditEntry);
  }

  /** ChangeFeed over LISTEN/NOTIFY; payloads that do not parse are skipped. */
  async subscribe(onChange: (change: RowChange) => void): Promise<() => Promise<void>> {
    return this.run("listening for changes", () =>
      this.client.listen(this.channel, (payload) => {
        let c: RowChange;
        try {
          c = JSON.parse(payload) as RowChange;
        } catch {
          return;
        }
        if (c.changedBy == null) c.changedBy = undefined;
        onChange(c);
      }),
    );
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** The pg sink over a dry run's transaction, named as the sink it came from. */
class PgTransactionView extends PgSink {
  constructor(
    client: SqlClient,
    options: PgSinkOptions,
    override readonly name: string,
  ) {
    super(client, options);
  }
}
