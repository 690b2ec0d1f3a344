/**
 * When the daemon takes the fused path: only for the shared Postgres queue with a sink in the same
 * database as the same user, unless told otherwise; `--fused on` says why it cannot.
 */
import { describe, expect, it } from "vitest";
import type { FusedBatches } from "../../src/core/fused-drain.ts";
import { chooseFused, sameDatabase } from "../../src/daemon/fused-choice.ts";
import { UsageError } from "../../src/errors.ts";

const fused: FusedBatches = { claimApplySettle: async () => ({ settled: [], handed: [], wireEvents: 0 }) };
const available = async () => fused;
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

describe("chooseFused", () => {
  const same = { queue: "postgres://u@h/app", db: "postgres://u@h/app", sinkSchema: "mudsync" };
  it("auto: on for one database with apply_batch installed, off otherwise", async () => {
    expect((await chooseFused({ mode: "auto", ...same, fusedWith: available })).fused).toBe(fused);
    expect(await chooseFused({ mode: "auto", ...same, db: "postgres://u@h/other", fusedWith: available })).toEqual({
      reason: "--queue and --db name different databases",
    });
    expect((await chooseFused({ mode: "auto", ...same, fusedWith: missing })).fused).toBeUndefined();
    expect((await chooseFused({ mode: "auto", sinkSchema: "mudsync" })).fused).toBeUndefined();
  });
  it("off: never; on: trusts different spellings but refuses what cannot work, with the reason", async () => {
    expect((await chooseFused({ mode: "off", ...same, fusedWith: available })).fused).toBeUndefined();
    expect((await chooseFused({ mode: "on", ...same, db: "postgres://u@alias/app", fusedWith: available })).fused).toBe(fused);
    await expect(chooseFused({ mode: "on", ...same, fusedWith: missing })).rejects.toThrow(UsageError);
    await expect(chooseFused({ mode: "on", ...same, fusedWith: missing })).rejects.toThrow(/--fused on: schema "mudsync"/);
    await expect(chooseFused({ mode: "on", sinkSchema: "mudsync" })).rejects.toThrow(/--queue/);
  });
});
