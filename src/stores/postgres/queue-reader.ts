/**
 * A read-only view of the shared Postgres queue for the inspection commands (`queue ls`, `show`,
 * `stats` with `--queue postgres://…`), usable while no daemon runs. It holds one connection in
 * one `REPEATABLE READ READ ONLY` transaction (the session default is read-only too), so every
 * count and page of one command comes from one snapshot and nothing can be written: opening
 * neither creates nor migrates the queue schema. A database without a queue this mudsync can read
 * is refused with QueueNotFoundError (exit 2), a server that cannot be reached with
 * StoreUnavailableError (exit 5).
 */
import pg from "pg";
import type { EventStatus, QueuedEvent } from "../../core/event.ts";
import type { HistoryEntry, ListPage, ListQuery, QueueReader } from "../../core/ports.ts";
import { MudsyncError, QueueNotFoundError, StoreUnavailableError, UsageError } from "../../errors.ts";
import { isRetryable } from "../../postgres/classify-error.ts";
import { migrationStatus } from "../../postgres/migrator.ts";
import { redactUrl } from "../../postgres/pg-client.ts";
import { openReadOnlySnapshot } from "../../postgres/read-only-snapshot.ts";
import { PostgresQueueReads } from "./queue-reads.ts";
import { checkQueueTarget, QUEUE_MIGRATIONS_DIR } from "./queue-target.ts";

export interface PostgresQueueReaderOptions {
  /** postgres:// or postgresql:// URL of the server holding the queue */
  url: string;
  /** schema of the queue tables (default mudsync_queue) */
  schema?: string;
  connectTimeoutMs?: number;
}

/** SQLSTATEs that say the URL itself is wrong for this server: refused login, no permission. */
const REFUSED_SQLSTATES = new Set(["28000", "28P01", "42501"]);

function errorText(err: unknown): { code: string | undefined; text: string } {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : undefined;
  const message = typeof e?.message === "string" && e.message ? e.message.split("\n")[0]! : String(err);
  return { code, text: code ? `${code}: ${message}` : message };
}

/** One line for a failure to open: no database (2), login or permission refused (2), else unreachable (5). */
function openFailed(url: string, err: unknown): Error {
  if (err instanceof MudsyncError) return err;
  const { code, text } = errorText(err);
  const where = `queue ${redactUrl(url)}`;
  if (code === "3D000") {
    return new QueueNotFoundError(`${where}: no such database (${text}); expected the database of a shared mudsync queue`, { cause: err });
  }
  if (code && REFUSED_SQLSTATES.has(code)) return new UsageError(`${where}: refused (${text})`, { cause: err });
  return new StoreUnavailableError(`${where}: cannot reach the server (${text})`, { cause: err });
}

export class PostgresQueueReader implements QueueReader {
  private closed = false;

  private constructor(
    private readonly client: pg.Client,
    private readonly reads: PostgresQueueReads,
    /** the queue's URL with the password masked, for output */
    readonly label: string,
  ) {}

  /** Connects, starts the read-only transaction and checks that the database holds a readable queue. */
  static async open(options: PostgresQueueReaderOptions): Promise<PostgresQueueReader> {
    const schema = checkQueueTarget(options.url, options.schema);
    let client: pg.Client;
    try {
      ({ client } = await openReadOnlySnapshot(
        // the same planner settings as the store's pool
        {
          url: options.url,
          applicationName: "mudsync-queue-reader",
          connectTimeoutMs: options.connectTimeoutMs,
          settings: "-c random_page_cost=1.1 -c jit=off",
        },
        (c) => checkQueue(c, options.url, schema),
      ));
    } catch (err) {
      throw openFailed(options.url, err);
    }
    return new PostgresQueueReader(client, new PostgresQueueReads(client, schema), redactUrl(options.url));
  }

  get(id: string): Promise<QueuedEvent | undefined> {
    return this.guard(() => this.reads.get(id));
  }

  getMany(ids: string[]): Promise<(QueuedEvent | undefined)[]> {
    return this.guard(() => this.reads.getMany(ids));
  }

  list(query: ListQuery): Promise<ListPage> {
    return this.guard(() => this.reads.list(query));
  }

  counts(): Promise<Record<EventStatus, number>> {
    return this.guard(() => this.reads.counts());
  }

  async *scan(batch = 1000): AsyncIterable<QueuedEvent[]> {
    try {
      yield* this.reads.scan(batch);
    } catch (err) {
      throw this.lost(err);
    }
  }

  history(id: string): Promise<HistoryEntry[]> {
    return this.guard(() => this.reads.history(id));
  }

  /** Ends the read-only transaction and starts the next one: later reads see a new snapshot (a live view such as `top`). */
  async refresh(): Promise<void> {
    await this.guard(async () => {
      await this.client.query("ROLLBACK");
      await this.client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    });
  }

  /** Ends the transaction (nothing to keep) and the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.query("ROLLBACK").catch(() => {});
    await this.client.end().catch(() => {});
  }

  private async guard<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      throw this.lost(err);
    }
  }

  /** A connection lost mid-command is one line (exit 5); any other error stays as it is. */
  private lost(err: unknown): unknown {
    if (err instanceof MudsyncError) return err;
    const { code, text } = errorText(err);
    if (!isRetryable(code, text)) return err;
    return new StoreUnavailableError(`queue ${this.label}: lost the server while reading (${text})`, { cause: err });
  }
}

/**
 * The queue's table must exist and its migrations be exactly this mudsync's: an older schema
 * lacks columns the reads use (and only a writer may migrate it), a newer one is refused by
 * migrationStatus (MigrationError, exit 2).
 */
async function checkQueue(client: pg.Client, url: string, schema: string): Promise<void> {
  const where = `queue ${redactUrl(url)}`;
  const { rows } = await client.query<{ events: string | null; migrations: string | null }>(
    "SELECT to_regclass($1)::text AS events, to_regclass($2)::text AS migrations",
    [`"${schema}".events`, `"${schema}".migrations`],
  );
  if (!rows[0]?.events || !rows[0]?.migrations) {
    throw new QueueNotFoundError(
      `${where}: no mudsync queue in this database (no table ${schema}.events); ` +
        "expected the database a daemon started with --queue has run on",
    );
  }
  const state = await migrationStatus(
    {
      query: async <R>(text: string, params?: unknown[]) => ({ rows: (await client.query(text, params)).rows as R[] }),
      exec: async (sql: string) => {
        await client.query(sql);
      },
    },
    { schema, dir: QUEUE_MIGRATIONS_DIR },
  );
  if (state.pending.length > 0) {
    const last = state.applied[state.applied.length - 1]?.name ?? "none";
    throw new QueueNotFoundError(
      `${where}: the queue schema ${schema} is at migration ${last}, older than this mudsync's ` +
        `(${state.pending.map((p) => p.name).join(", ")} not applied); read-only commands do not migrate it: ` +
        "start a daemon of this version on it (mudsync daemon --queue URL) first",
    );
  }
}

/** Opens a read-only reader of the shared queue at `url`. */
export function openPostgresQueueReader(options: PostgresQueueReaderOptions): Promise<PostgresQueueReader> {
  return PostgresQueueReader.open(options);
}
