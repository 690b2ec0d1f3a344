/**
 * Change feed over Supabase Realtime: one channel with a `postgres_changes` binding per entity
 * table of the schema, through supabase-js (the client carries the user's JWT, so Realtime's RLS
 * check decides which rows this user is told about). Each change becomes a RowChange: the table
 * maps back to its entity, `new` (or `old` for deletes) gives id, version and updated_by. Deletes
 * carry only the primary key unless the table has REPLICA IDENTITY FULL; their version is then
 * reported as 0. Realtime reconnects and rejoins by itself; errors go to `onProblem`.
 */
import type { RealtimePostgresChangesPayload, SupabaseClient } from "@supabase/supabase-js";
import type { ChangeFeed, RowChange } from "../core/ports.ts";
import { RetryableSinkError } from "../errors.ts";

export interface SupabaseRealtimeFeedOptions {
  schema: string;
  /** entity -> table, e.g. the built-in map of the Supabase sink */
  entityTables: Readonly<Record<string, string>>;
  onProblem?: (message: string) => void;
  /** how long to wait for the join to be acknowledged; default 10 s */
  joinTimeoutMs?: number;
  /** channel name (topic `realtime:<name>`) */
  channelName?: string;
}

type Row = Record<string, unknown>;

export class SupabaseRealtimeFeed implements ChangeFeed {
  constructor(
    private readonly client: SupabaseClient<any, string, any>,
    private readonly options: SupabaseRealtimeFeedOptions,
  ) {}

  /** Maps one realtime payload to a RowChange, or a reason it cannot. */
  toRowChange(payload: RealtimePostgresChangesPayload<Row>): RowChange | string {
    const entity = Object.entries(this.options.entityTables).find(([, t]) => t === payload.table)?.[0];
    if (!entity) return `change on unknown table ${payload.schema}.${payload.table}`;
    const op = ({ INSERT: "insert", UPDATE: "update", DELETE: "delete" } as const)[payload.eventType];
    const row = (payload.eventType === "DELETE" ? payload.old : payload.new) as Row;
    const id = row?.id;
    if (typeof id !== "string" && typeof id !== "number") return `change on ${payload.table} without an id`;
    const version = Number(row.version ?? 0);
    const by = row.updated_by;
    return {
      entity,
      id: String(id),
      version: Number.isFinite(version) ? version : 0,
      op,
      ...(typeof by === "string" && by ? { changedBy: by } : {}),
    };
  }

  async subscribe(onChange: (change: RowChange) => void): Promise<() => Promise<void>> {
    const { schema, onProblem = () => {} } = this.options;
    const channel = this.client.channel(this.options.channelName ?? `${schema}-changes`);
    for (const table of new Set(Object.values(this.options.entityTables))) {
      channel.on("postgres_changes", { event: "*", schema, table }, (payload: RealtimePostgresChangesPayload<Row>) => {
        const change = this.toRowChange(payload);
        if (typeof change === "string") onProblem(change);
        else onChange(change);
      });
    }
    // supabase-js hands the user's token to Realtime asynchronously; wait for it so that the join
    // carries the user's JWT (RLS) instead of racing it and joining as anon
    await this.client.realtime.setAuth();
    let settled = false;
    await new Promise<void>((resolve, reject) => {
      channel.subscribe((status, err) => {
        if (status === "SUBSCRIBED") {
          if (!settled) resolve();
          settled = true;
          return;
        }
        const message = `realtime channel ${status.toLowerCase()}${err ? `: ${err.message}` : ""}`;
        if (!settled) {
          settled = true;
          reject(new RetryableSinkError(`cannot subscribe to Supabase Realtime: ${message}`, status));
        } else if (status !== "CLOSED") {
          onProblem(message);
        }
      }, this.options.joinTimeoutMs ?? 10_000);
    }).catch(async (err: unknown) => {
      await this.client.removeChannel(channel);
      throw err;
    });
    return async () => {
      await this.client.removeChannel(channel);
    };
  }
}
