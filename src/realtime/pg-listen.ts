/**
 * Change feed over Postgres LISTEN/NOTIFY on `<schema>_changes`, on a dedicated pg client (LISTEN
 * belongs to one session, so it cannot share a pool). Payloads are validated; a bad one is
 * reported through `onProblem` and never reaches subscribers. When the connection drops the feed
 * reconnects with capped exponential backoff and jitter and LISTENs again; NOTIFY is not durable,
 * so changes committed while disconnected are not replayed (`onProblem` says when that happened).
 */
import pg from "pg";
import { type ChangeFeed, type Clock, type RowChange, systemClock } from "../core/ports.ts";
import { RetryableSinkError } from "../errors.ts";
import { changesChannel, parseChangePayload } from "./change-payload.ts";

export interface PgListenFeedOptions {
  connectionString: string;
  schema: string;
  /** bad payloads, lost connections, reconnects; the feed keeps running */
  onProblem?: (message: string) => void;
  /** called each time LISTEN is active again after a reconnect */
  onReconnect?: () => void;
  backoff?: { baseMs: number; maxMs: number };
  clock?: Clock;
}

export class PgListenFeed implements ChangeFeed {
  readonly channel: string;

  constructor(private readonly options: PgListenFeedOptions) {
    this.channel = changesChannel(options.schema);
  }

  async subscribe(onChange: (change: RowChange) => void): Promise<() => Promise<void>> {
    const { onProblem = () => {}, clock = systemClock } = this.options;
    const { baseMs, maxMs } = this.options.backoff ?? { baseMs: 200, maxMs: 10_000 };
    const stop = new AbortController();
    let current: pg.Client | undefined;
    let reconnecting: Promise<void> | undefined;

    const connect = async (): Promise<pg.Client> => {
      const client = new pg.Client({
        connectionString: this.options.connectionString,
        keepAlive: true,
        application_name: "mudsync-changes",
      });
      client.on("notification", (msg) => {
        if (msg.channel !== this.channel) return;
        const parsed = parseChangePayload(msg.payload ?? "");
        if (parsed.ok) onChange(parsed.change);
        else onProblem(parsed.reason);
      });
      client.on("error", (err) => lost(client, err));
      client.on("end", () => lost(client));
      try {
        await client.connect();
        await client.query(`LISTEN ${this.channel}`);
      } catch (err) {
        client.removeAllListeners("end");
        await client.end().catch(() => {});
        throw err;
      }
      return client;
    };

    const lost = (client: pg.Client, err?: Error) => {
      if (client !== current || stop.signal.aborted) return;
      current = undefined;
      onProblem(`change feed connection lost${err ? ` (${err.message})` : ""}; reconnecting`);
      client.end().catch(() => {});
      reconnecting = reconnect();
    };

    const reconnect = async () => {
      for (let attempt = 0; !stop.signal.aborted; attempt++) {
        const delay = Math.min(maxMs, baseMs * 2 ** attempt) * (0.5 + Math.random() / 2);
        await clock.sleep(delay, stop.signal);
        if (stop.signal.aborted) return;
        try {
          const client = await connect();
          if (stop.signal.aborted) {
            await client.end().catch(() => {});
            return;
          }
          current = client;
          onProblem("change feed reconnected; changes committed while it was down were not seen");
          this.options.onReconnect?.();
          return;
        } catch (err) {
          onProblem(`change feed reconnect failed (${(err as Error).message}); retrying`);
        }
      }
    };

    try {
      current = await connect();
    } catch (err) {
      const e = err as Error & { code?: string };
      throw new RetryableSinkError(`cannot LISTEN on ${this.channel}: ${e.message}`, e.code, { cause: err });
    }

    return async () => {
      stop.abort();
      const client = current;
      current = undefined;
      await reconnecting;
      await client?.end().catch(() => {});
    };
  }
}
