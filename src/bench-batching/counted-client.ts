/**
 * Counts what a strategy costs the database at the shape of the SQL client: every statement is one
 * round trip; a statement outside a transaction is one transaction of its own (autocommit), and
 * `transaction()` is one transaction whose BEGIN and COMMIT are round trips too. Counting is on
 * only while a measurement runs, so setup and the final read are left out.
 */
import type { SqlClient, SqlQueryable } from "../postgres/sql-client.ts";

export class RoundTripCounter {
  roundTrips = 0;
  transactions = 0;
  counting = false;

  /** One statement; `inTransaction` when it runs inside an explicit transaction. */
  statement(inTransaction = false): void {
    if (!this.counting) return;
    this.roundTrips += 1;
    if (!inTransaction) this.transactions += 1;
  }

  transaction(): void {
    if (!this.counting) return;
    this.roundTrips += 2;
    this.transactions += 1;
  }

  start(): void {
    this.roundTrips = 0;
    this.transactions = 0;
    this.counting = true;
  }

  stop(): { roundTrips: number; transactions: number } {
    this.counting = false;
    return { roundTrips: this.roundTrips, transactions: this.transactions };
  }
}

function countedQueryable(inner: SqlQueryable, counter: RoundTripCounter, inTransaction: boolean): SqlQueryable {
  return {
    query: (text, params) => {
      counter.statement(inTransaction);
      return inner.query(text, params);
    },
    exec: (sql) => {
      counter.statement(inTransaction);
      return inner.exec(sql);
    },
  };
}

/**
 * The client with every round trip reported to `counter`; closing it leaves the inner client open.
 * `yieldEveryMs`: for a client that answers in microtasks (PGlite), a hop through the event loop
 * before a statement or transaction once that long has passed since the last, so that timers (the
 * progress bar) still run during a measurement.
 */
export function countedClient(inner: SqlClient, counter: RoundTripCounter, opts: { yieldEveryMs?: number } = {}): SqlClient {
  const counted = countedQueryable(inner, counter, false);
  let last = performance.now();
  const due = () => {
    if (opts.yieldEveryMs === undefined || performance.now() - last < opts.yieldEveryMs) return false;
    last = performance.now();
    return true;
  };
  const hop = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    query: async (text, params) => {
      if (due()) await hop();
      return counted.query(text, params);
    },
    exec: async (sql) => {
      if (due()) await hop();
      return counted.exec(sql);
    },
    info: inner.info,
    transaction: async (fn, options) => {
      if (due()) await hop();
      counter.transaction();
      return inner.transaction((tx) => fn(countedQueryable(tx, counter, true)), options);
    },
    listen: (channel, onPayload) => inner.listen(channel, onPayload),
    close: async () => {},
  };
}
