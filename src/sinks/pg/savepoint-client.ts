/**
 * A SqlClient inside a transaction that someone else opened (and will roll back): what a dry run
 * gives the engine. Each statement runs under its own savepoint, so a failing batch undoes only
 * itself and later ones still run, as when every batch is its own transaction; `transaction()`
 * becomes a savepoint too. Statements are serialised, because the engine may settle one batch
 * while it applies the next and savepoints of one session must not interleave.
 */
import { UsageError } from "../../errors.ts";
import type { BackendInfo, SqlClient, SqlQueryable, TransactionOptions } from "../../postgres/sql-client.ts";

const SAVEPOINT = "mudsync_dry_run";

export class SavepointClient implements SqlClient {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly tx: SqlQueryable,
    readonly info: BackendInfo,
  ) {}

  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }> {
    return this.guarded(() => this.tx.query<R>(text, params));
  }

  exec(sql: string): Promise<void> {
    return this.guarded(() => this.tx.exec(sql));
  }

  /** fn runs under one savepoint; with `rollback` it is undone even when it succeeds. */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.guarded(async () => {
      const value = await fn(this.tx);
      if (options.rollback) throw new RolledBack(value);
      return value;
    }).catch((err: unknown) => {
      if (err instanceof RolledBack) return err.value as T;
      throw err;
    });
  }

  async listen(): Promise<() => Promise<void>> {
    throw new UsageError("a dry run cannot listen for changes: its transaction is never committed");
  }

  /** The transaction belongs to whoever opened it. */
  async close(): Promise<void> {}

  private guarded<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(async () => {
      await this.tx.query(`SAVEPOINT ${SAVEPOINT}`);
      try {
        const value = await fn();
        await this.tx.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
        return value;
      } catch (err) {
        // a session too broken to roll back fails its next statement anyway: report the cause
        await this.tx
          .query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`)
          .then(() => this.tx.query(`RELEASE SAVEPOINT ${SAVEPOINT}`))
          .catch(() => undefined);
        throw err;
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** Carries a value out of a savepoint that is rolled back on purpose. */
class RolledBack {
  constructor(readonly value: unknown) {}
}
