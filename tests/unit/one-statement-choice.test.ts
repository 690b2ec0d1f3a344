/**
 * When the daemon takes the one-statement drain: only for the shared Postgres queue with a sink in
 * the same database as the same user, unless told otherwise; `--one-statement on` says why it cannot.
 */
import { describe, expect, it } from "vitest";
import type { OneStatementBatches } from "../../src/core/one-statement-drain.ts";
import { chooseOneStatement, sameDatabase } from "../../src/daemon/one-statement-choice.ts";
import { UsageError } from "../../src/errors.ts";

const batches: OneStatementBatches = { claimApplySettle: async () => ({ settled: [], handed: [], wireEvents: 0 }) };
const available = async () => batches;
const missing = async () => undefined;

describe("sameDatabase", () => {
  it("matches spellings of one database and user", () => {
    expect(sameDatabase("postgres://u@db.example:5432/app", "postgresql://u:secret@DB.example/app")).toBe(true);
    expect(sameDatabase("postgres://u@h/app?sslmode=require", "postgres://u@h/app")).toBe(true);
  });
  it("tells different databases, users, ports and hosts apart", () => {
    expect(sameDatabase("postgres://u@h/app", "postgres://u@h/other")).toBe(false);
    expect(sameDatabase("postgres://u@h/app", "postgres://v@h/app")).toBe(false);
    expect(sameDatabase("postgres://u@h:5433/app", "postgres://u@h/app")).toBe(false);
    expect(sameDatabase("postgres://u@localhost/app", "postgres://u@127.0.0.1/app")).toBe(false);
    expect(sameDatabase("not a url", "not a url")).toBe(false);
  });
});

describe("chooseOneStatement", () => {
  const same = { queue: "postgres://u@h/app", db: "postgres://u@h/app", sinkSchema: "mudsync" };
  it("auto: on for one database with apply_batch installed, off otherwise", async () => {
    expect((await chooseOneStatement({ mode: "auto", ...same, oneStatementWith: available })).batches).toBe(batches);
    expect(await chooseOneStatement({ mode: "auto", ...same, db: "postgres://u@h/other", oneStatementWith: available })).toEqual({
      reason: "--queue and --db name different databases",
    });
    expect((await chooseOneStatement({ mode: "auto", ...same, oneStatementWith: missing })).batches).toBeUndefined();
    expect((await chooseOneStatement({ mode: "auto", sinkSchema: "mudsync" })).batches).toBeUndefined();
  });
  it("off: never; on: trusts different spellings but refuses what cannot work, with the reason", async () => {
    expect((await chooseOneStatement({ mode: "off", ...same, oneStatementWith: available })).batches).toBeUndefined();
    expect((await chooseOneStatement({ mode: "on", ...same, db: "postgres://u@alias/app", oneStatementWith: available })).batches).toBe(batches);
    await expect(chooseOneStatement({ mode: "on", ...same, oneStatementWith: missing })).rejects.toThrow(UsageError);
    await expect(chooseOneStatement({ mode: "on", ...same, oneStatementWith: missing })).rejects.toThrow(/--one-statement on: schema "mudsync"/);
    await expect(chooseOneStatement({ mode: "on", sinkSchema: "mudsync" })).rejects.toThrow(/--queue/);
  });
});
