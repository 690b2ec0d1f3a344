/**
 * What the sink contract runs against: a target (the sink, a direct SQL connection to its
 * database, its change feed), the target's profile (what its sink offers), and the context the
 * contract's cases share (the live target and reads of server state beside the sink).
 */
import { toRowState } from "../../src/sinks/pg/pg-sink.ts";
import type { ChangeFeed, RowState, Sink, SinkCapabilities, WireEvent } from "../../src/core/ports.ts";
import type { SqlQueryable } from "../../src/postgres/sql-client.ts";

export interface SinkTarget {
  sink: Sink;
  /** a direct SQL connection to the sink's database, for assertions and setup (as the owner, no RLS) */
  inspect: SqlQueryable;
  /** the change feed a consumer of this sink follows; required when capabilities.supportsListen */
  feed?: ChangeFeed;
  cleanup(): Promise<void>;
}

export interface SinkProfile {
  /** Postgres schema holding the tables and functions */
  schema: string;
  /** what the sink reports; gates the dry-run and realtime cases */
  capabilities: SinkCapabilities;
  /** parkConflicts / listConflicts / getConflict / resolveConflict are offered */
  parksConflicts: boolean;
  /** a real server with many sessions behind the sink: run the concurrent-batches case */
  concurrent: boolean;
  /** who the server records as author of the sink's writes (an authenticated user); default: each event's clientId */
  author?: string;
  /** the feed reports a delete with only entity, id and op (Supabase Realtime without REPLICA IDENTITY FULL) */
  deletesByKeyOnly?: boolean;
  /** the server was built with lz4 (the real server; not PGlite): row data is compressed with it */
  lz4: boolean;
}

let seq = 0;
export function ids(label: string) {
  const p = `${label}-${Date.now().toString(36)}-${(seq += 1)}`;
  return { ev: (n: number | string) => `${p}-e${n}`, row: (n: number | string) => `${p}-r${n}` };
}

export function ev(e: Partial<WireEvent> & Pick<WireEvent, "id" | "type" | "entity" | "entityId">): WireEvent {
  return { payload: {}, timestamp: 1_700_000_000_000, ...e };
}


/** The live target and reads of server state through `inspect`; set up by the contract's beforeAll. */
export class ContractContext {
  target: SinkTarget | undefined;
  readonly q: string;

  constructor(readonly profile: SinkProfile) {
    this.q = `"${profile.schema}"`;
  }

  get sink(): Sink {
    if (!this.target) throw new Error("the sink target is not set up");
    return this.target.sink;
  }

  get inspect(): SqlQueryable {
    if (!this.target) throw new Error("the sink target is not set up");
    return this.target.inspect;
  }

  /** Who the server records as author of an event sent by `clientId`. */
  readonly by = (clientId: string): string => this.profile.author ?? clientId;

  /** The row as the server holds it, read beside the sink. */
  readonly serverRow = async (entity: string, id: string): Promise<RowState | null> =>
    toRowState((await this.inspect.query<{ r: unknown }>(`select ${this.q}.get_row($1, $2) as r`, [entity, id])).rows[0]?.r);

  readonly count = async (sql: string, params: unknown[]): Promise<number> =>
    Number((await this.inspect.query<{ n: string | number }>(sql, params)).rows[0]?.n);

  /** How many times the event id is in the applied-events ledger (0 or 1). */
  readonly ledgerCount = (eventId: string): Promise<number> =>
    this.count(`select count(*) as n from ${this.q}.applied_events where event_id = $1`, [eventId]);
}

/** The optional conflict methods, bound; only called where the profile says they exist. */
export function conflictMethods(sink: Sink) {
  const { parkConflicts, listConflicts, getConflict, resolveConflict } = sink;
  if (!parkConflicts || !listConflicts || !getConflict || !resolveConflict) throw new Error(`${sink.name} sink does not park conflicts`);
  return {
    parkConflicts: parkConflicts.bind(sink),
    listConflicts: listConflicts.bind(sink),
    getConflict: getConflict.bind(sink),
    resolveConflict: resolveConflict.bind(sink),
  };
}
