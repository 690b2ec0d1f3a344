/**
 * When the Postgres queue store analyzes its table after bulk inserts (bulk-analyze.ts): once
 * max(minRows, rows at its last ANALYZE) rows were written since, never twice at once, and a
 * failing ANALYZE never fails the write that triggered it.
 */
import { describe, expect, it } from "vitest";
import type pg from "pg";
import { BulkAnalyze } from "../../src/stores/postgres/bulk-analyze.ts";

function fakePool(reltuples: number[], fail = false) {
  const queries: string[] = [];
  const pool = {
    async query(text: string) {
      queries.push(text.split(" ")[0]!);
      if (fail) throw new Error("permission denied");
      if (text.startsWith("SELECT")) return { rows: [{ n: reltuples.shift() ?? 0 }] };
      return { rows: [] };
    },
  };
  return { pool: pool as unknown as pg.Pool, analyzes: () => queries.filter((q) => q === "ANALYZE").length };
}

describe("BulkAnalyze", () => {
  it("analyzes after minRows, then each time the table has doubled since its last ANALYZE", async () => {
    const { pool, analyzes } = fakePool([1_000, 25_000]);
    const b = new BulkAnalyze(pool, '"q".events', 100);
    await b.wrote(99);
    expect(analyzes()).toBe(0);
    await b.wrote(1);
    expect(analyzes()).toBe(1); // table: 1,000 rows
    await b.wrote(999);
    expect(analyzes()).toBe(1);
    await b.wrote(1);
    expect(analyzes()).toBe(2); // table: 25,000 rows
    await b.wrote(24_999);
    expect(analyzes()).toBe(2);
    await b.wrote(1);
    expect(analyzes()).toBe(3);
  });

  it("runs one ANALYZE at a time, and a failing one does not fail the write", async () => {
    const { pool, analyzes } = fakePool([], true);
    const b = new BulkAnalyze(pool, '"q".events', 10);
    await Promise.all([b.wrote(10), b.wrote(10)]);
    expect(analyzes()).toBe(1);
    await expect(b.wrote(10)).resolves.toBeUndefined();
    expect(analyzes()).toBe(2);
  });
});
