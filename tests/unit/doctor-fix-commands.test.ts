import { describe, expect, it } from "vitest";
import { FixCommands, shellWord } from "../../src/doctor/fix-commands.ts";

describe("doctor: fix commands for each source", () => {
  it("a store is fixed in place, with the server when one was given (password masked)", () => {
    const fix = new FixCommands({ kind: "store", dir: "/data/user 1" }, "postgres://ops:hunter2@db.internal/app");
    expect(fix.replay({ statuses: ["processing"] })).toBe(
      "mudsync --store '/data/user 1' --db 'postgres://ops:***@db.internal/app' queue replay --status processing",
    );
    expect(fix.replay({ ids: ["a", "b"], statuses: ["failed"] })).toBe(
      "mudsync --store '/data/user 1' --db 'postgres://ops:***@db.internal/app' queue replay --ids a,b",
    );
    expect(fix.show("a")).toBe("mudsync --store '/data/user 1' queue show a");
  });

  it("an export is imported first; doctor itself never imports it", () => {
    const fix = new FixCommands({ kind: "file", path: "exports/user.json" });
    expect(fix.drain()).toBe("mudsync queue import exports/user.json && mudsync queue drain");
    expect(fix.dryRun(["x1"])).toBe("mudsync queue import exports/user.json && mudsync queue replay --ids x1 --dry-run");
    expect(fix.skipInvalid()).toBe("mudsync queue import exports/user.json --skip-invalid");
  });

  it("the shared queue is drained by a daemon, which reclaims expired leases and retries what is due", () => {
    const fix = new FixCommands({ kind: "queue", url: "postgres://q:pw@host/queue" });
    expect(fix.replay({ statuses: ["processing"] })).toBe("mudsync daemon --queue 'postgres://q:***@host/queue' --once");
    expect(fix.skipInvalid()).toBeUndefined();
    expect(fix.show("e1")).toBe("mudsync queue show e1 --queue 'postgres://q:***@host/queue'");
  });

  it("server statements go through psql on the server given, in the configured schema", () => {
    expect(new FixCommands({ kind: "store", dir: "s" }, "postgres://h/app", "ops").registerEntity("it's")).toBe(
      `psql postgres://h/app -c "select ops.register_entity('it''s', 'it''s', 'document')"`,
    );
    expect(new FixCommands({ kind: "store", dir: "s" }).raisePayloadLimit(2_097_152)).toBe(
      `psql "$DATABASE_URL" -c "update mudsync.settings set value = '2097152' where key = 'max_payload_bytes'"`,
    );
  });

  it("quotes shell words only when needed", () => {
    expect(shellWord("plain/path-1.json")).toBe("plain/path-1.json");
    expect(shellWord("a b")).toBe("'a b'");
    expect(shellWord("$HOME")).toBe("'$HOME'");
    expect(shellWord("o'k")).toBe(`"o'k"`);
  });
});
