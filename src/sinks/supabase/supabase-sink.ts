/**
 * The Supabase sink: the same `<schema>.apply_batch(events jsonb)` the pg and PGlite sinks call,
 * reached through PostgREST (`POST /rest/v1/rpc/apply_batch`, `Content-Profile: <schema>`) with
 * supabase-js. Requests carry the user's JWT, so row-level security applies as that user.
 * One batch = one HTTP request = one transaction on the server. Dry runs are not possible through
 * PostgREST (it cannot roll back a call on request), so capabilities.supportsDryRun is false.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { z } from "zod";
import { describeIssues } from "../../core/event.ts";
import type { ApplyResult, DryRunReport, RolledBackSink, RowState, Sink, SinkCapabilities, WireEvent } from "../../core/ports.ts";
import { PermanentSinkError, UsageError } from "../../errors.ts";
import { classifySupabaseError } from "./classify-supabase-error.ts";
import { createSupabaseClient, type SupabaseClientOptions } from "./create-supabase-client.ts";

export interface SupabaseSinkOptions extends SupabaseClientOptions {
  /** abort a request after this long (retryable); default 30 s */
  timeoutMs?: number;
  /** an existing client (shared with a realtime feed); otherwise one is created */
  client?: SupabaseClient<any, string, any>;
}

/** What `<schema>.get_row(entity, entity_id)` returns for an existing row. */
const rowStateSchema = z.looseObject({
  entity: z.string(),
  id: z.string(),
  version: z.number().int(),
  data: z.unknown(),
  updatedAt: z.string().nullish(),
  updatedBy: z.string().nullish(),
});

const applyResultSchema = z.looseObject({
  /** null answers an event that carried no id (rejected with the reason "id: …") */
  id: z.string().nullable(),
  outcome: z.enum(["applied", "duplicate", "conflict", "deferred", "rejected"]),
  version: z.number().int().nullish(),
  current: z.unknown().optional(),
  reason: z.string().nullish(),
});

export class SupabaseSink implements Sink {
  readonly name = "supabase";
  readonly capabilities: SinkCapabilities = {
    supportsTransactions: false,
    supportsListen: true,
    supportsDryRun: false,
  };
  readonly client: SupabaseClient<any, string, any>;
  private readonly timeoutMs: number;

  constructor(private readonly options: SupabaseSinkOptions) {
    this.client = options.client ?? createSupabaseClient(options);
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  async applyBatch(events: WireEvent[]): Promise<ApplyResult[]> {
    if (events.length === 0) return [];
    const what = `apply_batch of ${events.length} event(s) via ${this.options.url}`;
    const signal = AbortSignal.timeout(this.timeoutMs);
    const res = await this.client
      .schema(this.options.schema)
      .rpc("apply_batch", { events })
      .abortSignal(signal)
      .retry(false);
    if (res.error) {
      throw classifySupabaseError(what, { status: res.status, error: res.error, timedOut: signal.aborted });
    }
    return this.parseResults(what, events, res.data);
  }

  async dryRun(_events: WireEvent[]): Promise<DryRunReport> {
    throw noDryRun();
  }

  async rolledBack<T>(_fn: (sink: RolledBackSink) => Promise<T>): Promise<T> {
    throw noDryRun();
  }

  /**
   * The row through `rpc('get_row')`: the same server function the pg sink reads with, so entity
   * and table names come from the server's registry and RLS applies to the read as well.
   */
  async getRow(entity: string, id: string): Promise<RowState | null> {
    const what = `read ${entity} ${id} via ${this.options.url}`;
    const signal = AbortSignal.timeout(this.timeoutMs);
    const res = await this.client
      .schema(this.options.schema)
      .rpc("get_row", { entity, entity_id: id })
      .abortSignal(signal);
    if (res.error?.code === "22023" && /unknown entity/.test(res.error.message ?? "")) {
      // the same usage error the pg sink gives: the server's registry does not know the name
      throw new UsageError(`unknown entity "${entity}" (not in the server's entity registry)`);
    }
    if (res.error) {
      throw classifySupabaseError(what, { status: res.status, error: res.error, timedOut: signal.aborted });
    }
    if (res.data === null || res.data === undefined) return null;
    const parsed = rowStateSchema.safeParse(res.data);
    if (!parsed.success) {
      throw new PermanentSinkError(`${what}: unexpected response: ${describeIssues(parsed.error, "row")}`);
    }
    const { updatedAt, updatedBy, ...row } = parsed.data;
    return {
      ...row,
      ...(updatedAt ? { updatedAt } : {}),
      ...(updatedBy ? { updatedBy } : {}),
    };
  }

  async close(): Promise<void> {
    await this.client.removeAllChannels();
  }

  private parseResults(what: string, events: WireEvent[], data: unknown): ApplyResult[] {
    const parsed = z.array(applyResultSchema).safeParse(data);
    if (!parsed.success) {
      throw new PermanentSinkError(`${what}: unexpected response: ${describeIssues(parsed.error, "result")}`);
    }
    const results = parsed.data;
    const answers = (r: (typeof results)[number], e: WireEvent | undefined) =>
      r.id === null ? r.outcome === "rejected" && typeof e?.id !== "string" : r.id === e?.id;
    if (results.length !== events.length || results.some((r, i) => !answers(r, events[i]))) {
      throw new PermanentSinkError(
        `${what}: unexpected response: expected ${events.length} results in input order, got ${results.length}`,
      );
    }
    return results.map(({ id, outcome, version, current, reason }) => ({
      // as the pg sink: the function's answer, null id included, one bad event never fails the batch
      id: id as string,
      outcome,
      ...(version != null ? { version } : {}),
      ...(current !== undefined && current !== null ? { current } : {}),
      ...(reason != null ? { reason } : {}),
    }));
  }
}

function noDryRun(): UsageError {
  return new UsageError(
    "dry run is not supported by the supabase sink (PostgREST cannot roll a call back); " +
      "run the dry run with --db postgres://… against the project's database instead",
  );
}
