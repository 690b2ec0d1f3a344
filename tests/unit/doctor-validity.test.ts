import { describe, expect, it } from "vitest";
import { check, ev, ofKind } from "./doctor-fixture.ts";

const SERVER = { entities: new Set(["well", "chart_data_source", "annotation"]), maxPayloadBytes: 2000, label: "postgres://u:***@db/app" };

describe("doctor: unknown-entity", () => {
  it("reports each entity that is not built in, with a command that registers it", async () => {
    const a = ev({ entity: "annotation" });
    const b = ev({ entity: "annotation" });
    const c = ev({ entity: "sketch" });
    const found = ofKind(await check([a, ev(), b, c]), "unknown-entity");
    expect(found.map((f) => [f.title, f.eventIds])).toEqual([
      ['2 events of unknown entity "annotation"', [a.id, b.id]],
      ['1 event of unknown entity "sketch"', [c.id]],
    ]);
    expect(found[0]!.severity).toBe("warning");
    expect(found[0]!.fix).toBe(`psql "$DATABASE_URL" -c "select mudsync.register_entity('annotation', 'annotation', 'document')"`);
  });

  it("with a server, judges by the server's registry", async () => {
    const found = ofKind(await check([ev({ entity: "annotation" }), ev({ entity: "curve" })], { server: SERVER }), "unknown-entity");
    expect(found.map((f) => f.title)).toEqual(['1 event of unknown entity "curve"']);
    expect(found[0]!.fix).toContain("psql 'postgres://u:***@db/app' -c");
  });
});

describe("doctor: invalid-event", () => {
  it("reports entries without their id, values PostgreSQL cannot store, and invalid rows of an export", async () => {
    const noEntryId = ev({ entity: "chart_data_source", type: "add", payload: { source: {} } });
    const nul = ev({ payload: { name: "a\u0000b" } });
    const [f] = ofKind(
      await check([ev(), noEntryId, nul], { invalid: [{ id: "bad-1", where: "data.data[0].rows[7].timestamp", reason: "expected number" }] }),
      "invalid-event",
    );
    expect(f).toMatchObject({ severity: "error", eventIds: [noEntryId.id, nul.id, "bad-1"], moreEvents: 0 });
    expect(f!.evidence).toContain("payload.id: expected a string (the entry id)");
  });

  it("for an export, fixes by importing the valid rows", async () => {
    const [f] = ofKind(
      await check([], { source: { kind: "file", path: "user export.json" }, invalid: [{ where: "data.data[0].rows[3]", reason: "expected an event" }] }),
      "invalid-event",
    );
    expect(f).toMatchObject({ eventIds: [], moreEvents: 1 });
    expect(f!.fix).toBe("mudsync queue import 'user export.json' --skip-invalid");
  });
});

describe("doctor: duplicate-id", () => {
  it("reports ids repeated in an export (and not as invalid events)", async () => {
    const findings = await check([ev()], {
      source: { kind: "file", path: "x.json" },
      invalid: [{ id: "dup-1", where: "data.data[0].rows[9].id", reason: 'duplicate id "dup-1": data.data[0].rows[2] has the same id (the first is kept)' }],
    });
    const [f] = ofKind(findings, "duplicate-id");
    expect(f).toMatchObject({ severity: "error", eventIds: ["dup-1"] });
    expect(f!.evidence).toContain("rows[2] has the same id");
    expect(ofKind(findings, "invalid-event")).toEqual([]);
  });
});

describe("doctor: oversized-payload and large-payload", () => {
  it("reports payloads over the server's limit as errors and those over a quarter of it as info", async () => {
    const big = ev({ payload: { blob: "x".repeat(2500) } });
    const large = ev({ payload: { blob: "x".repeat(800) } });
    const findings = await check([ev(), big, large], { server: SERVER });
    expect(ofKind(findings, "oversized-payload")).toMatchObject([{ severity: "error", eventIds: [big.id] }]);
    expect(ofKind(findings, "oversized-payload")[0]!.fix).toContain("set value = '1048576' where key = 'max_payload_bytes'");
    expect(ofKind(findings, "large-payload")).toMatchObject([{ severity: "info", eventIds: [large.id] }]);
  });

  it("an export row the reader refused for its size is oversized, not invalid", async () => {
    const findings = await check([ev()], {
      source: { kind: "file", path: "x.json" },
      invalid: [{ id: "huge-1", where: "data.data[0].rows[4].payload", reason: "2200000 bytes of JSON, more than the limit of 1048576 bytes for one event's payload" }],
    });
    expect(ofKind(findings, "oversized-payload")).toMatchObject([{ eventIds: ["huge-1"], severity: "error" }]);
    expect(ofKind(findings, "oversized-payload")[0]!.evidence).toContain("largest 2200000 bytes");
    expect(ofKind(findings, "invalid-event")).toEqual([]);
  });

  it("without a server, uses the default limit of 1 MiB", async () => {
    const findings = await check([ev({ payload: { blob: "x".repeat(300_000) } }), ev({ payload: { blob: "x".repeat(1_100_000) } })]);
    expect(ofKind(findings, "large-payload")).toHaveLength(1);
    expect(ofKind(findings, "oversized-payload")).toHaveLength(1);
  });
});
