/**
 * Planner statistics after bulk inserts. The claim and one-statement drain statements are planned from the
 * queue table's statistics (how many events are pending, how many of a row half); a queue that
 * has just received many events has none or stale ones until autovacuum's next round (up to
 * `autovacuum_naptime`, 1 min by default), and until then the planner sorts the whole queue per
 * statement instead of walking an index, which slows the drain of a freshly filled queue by over a
 * quarter. So a store that has written at least max(`minRows`, the table's rows at its last
 * ANALYZE) rows since then analyzes the table itself: enqueueing 100k analyzes 4 times (at 10k,
 * 20k, 40k and 80k rows).
 *
 * `ANALYZE (SKIP_LOCKED)`: when autovacuum or another store is analyzing the table, that run will
 * do, and nobody waits. A failure is dropped: statistics only speed the queue up, and autovacuum
 * analyzes the table later anyway (a role that does not own the table gets a warning, not stats).
 */
import type pg from "pg";

export const BULK_ANALYZE_MIN_ROWS = 10_000;

export class BulkAnalyze {
  private since = 0;
  /** the table's rows at the last ANALYZE this store ran (0: none yet) */
  private basis = 0;
  private analyzing = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
    private readonly minRows = BULK_ANALYZE_MIN_ROWS,
  ) {}

  /** Counts `rows` written; analyzes the table (awaited) when enough have been since the last time. */
  async wrote(rows: number): Promise<void> {
    this.since += rows;
    if (this.analyzing || this.since < Math.max(this.minRows, this.basis)) return;
    this.since = 0;
    this.analyzing = true;
    try {
      await this.analyze();
    } finally {
      this.analyzing = false;
    }
  }

  private async analyze(): Promise<void> {
    try {
      await this.pool.query(`ANALYZE (SKIP_LOCKED) ${this.table}`);
      const { rows } = await this.pool.query<{ n: number }>(
        "SELECT greatest(reltuples, 0)::float8 AS n FROM pg_class WHERE oid = $1::regclass",
        [this.table],
      );
      this.basis = Math.max(this.basis, Number(rows[0]?.n ?? 0));
    } catch {
      // see above: the statistics are an optimization, autovacuum provides them later
    }
  }
}
