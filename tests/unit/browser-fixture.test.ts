/**
 * The committed browser fixture (fixtures/browser-export.json, made by Chromium through Dexie and
 * dexie-export-import) is a real stuck queue: an EventQueueDB queue with every status,
 * retried failures, unicode, a large payload and an unknown entity; the CacheDB export beside it;
 * and an expected-state file that matches a replay of the export. Does not launch a browser.
 */
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BUILTIN_ENTITIES, parseEvent } from "../../src/core/event.ts";
import { replayExport } from "../../fixtures/browser/replay.ts";
import { reviveRow } from "../../fixtures/browser/revive-types.ts";

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url));
const readJson = (name: string): any => JSON.parse(readFileSync(fixture(name), "utf8"));

const queue = readJson("browser-export.json");
const cache = readJson("browser-cache-export.json");
const rows: any[] = queue.data.data[0].rows;

describe("browser-export.json (EventQueueDB)", () => {
  it("is a dexie-export-import export of the browser app's EventQueueDB v1", () => {
    expect(queue.formatName).toBe("dexie");
    expect(queue.formatVersion).toBe(1);
    expect(queue.data.databaseName).toBe("EventQueueDB");
    expect(queue.data.databaseVersion).toBe(1);
    expect(queue.data.tables).toEqual([
      { name: "events", schema: "id,status,timestamp,[status+timestamp]", rowCount: rows.length },
    ]);
    expect(queue.data.data).toHaveLength(1);
    expect(queue.data.data[0]).toMatchObject({ tableName: "events", inbound: true });
  });

  it("is the browser's compact output, small enough to commit", () => {
    const text = readFileSync(fixture("browser-export.json"), "utf8");
    expect(text.startsWith('{"formatName":"dexie"')).toBe(true);
    expect(statSync(fixture("browser-export.json")).size).toBeLessThan(3 * 1024 * 1024);
  });

  it("holds only valid events with unique ids, in the app's field order", () => {
    const ids = new Set<string>();
    rows.forEach((row, i) => {
      const parsed = parseEvent(reviveRow(row, `rows[${i}]`));
      expect(parsed.ok, `rows[${i}]: ${parsed.ok ? "" : parsed.reason}`).toBe(true);
      const keys = Object.keys(row).filter((k) => k !== "$types");
      expect(keys).toEqual(["type", "entity", "entityId", "payload", "id", "timestamp", "status", "retryCount"]);
      ids.add(row.id);
    });
    expect(ids.size).toBe(rows.length);
  });

  it("carries dexie-export-import's $types tags: every array, and undefined written as 0", () => {
    const tagged = rows.filter((r) => "$types" in r);
    expect(tagged.length).toBeGreaterThan(0);
    const types = new Set(tagged.flatMap((r) => Object.values(r.$types as Record<string, string>)));
    expect(types).toEqual(new Set(["arrayNonindexKeys", "undef"]));
    const undef = tagged.filter((r) => r.$types["payload.displaySettings.color"] === "undef");
    expect(undef.length).toBeGreaterThan(0);
    for (const r of undef) {
      expect(r.payload.displaySettings.color).toBe(0);
      const revived = reviveRow(r, "row") as any;
      expect("color" in revived.payload.displaySettings).toBe(false);
      expect("$types" in revived).toBe(false);
    }
  });

  it("looks like a stuck queue: completed history, processing, failed with retries, a long pending tail", () => {
    const byStatus = (s: string) => rows.filter((r) => r.status === s);
    expect(byStatus("completed").length).toBeGreaterThan(1000);
    expect(byStatus("processing").length).toBeGreaterThan(0);
    expect(byStatus("pending").length).toBeGreaterThan(2000);
    const failed = byStatus("failed");
    expect(failed.length).toBeGreaterThan(0);
    for (const e of failed) expect(e.retryCount).toBeGreaterThan(0);
    expect(new Set(failed.map((e) => e.retryCount))).toEqual(new Set([1, 2, 3, 4, 5]));
    for (const e of [...byStatus("pending"), ...byStatus("completed")]) expect(e.retryCount).toBe(0);
    // the processing batch is older than the pending tail it was taken from the head of
    const oldestPending = Math.min(...byStatus("pending").map((e) => e.timestamp));
    const newestCompleted = Math.max(...byStatus("completed").map((e) => e.timestamp));
    expect(newestCompleted).toBeLessThan(oldestPending);
  });

  it("has the seed's chart selection payloads, toggled on and off", () => {
    const chart = rows.filter((r) => r.entity === "chart_data_source");
    const add = chart.find((r) => r.type === "add");
    expect(add.payload).toEqual({
      id: `curve-${add.payload.source.curveId}`,
      source: { type: "curve", curveId: add.payload.source.curveId },
      displaySettings: { visible: true },
    });
    expect(chart.some((r) => r.type === "remove")).toBe(true);
    expect(chart.some((r) => r.type === "update")).toBe(true);
    for (const entity of ["well", "polygon", "curve"]) {
      const types = new Set(rows.filter((r) => r.entity === entity).map((r) => r.type));
      expect(types, entity).toEqual(new Set(["add", "update", "remove"]));
    }
  });

  it("has unicode in ids and payloads: CJK, emoji, RTL, combining marks, NFC and NFD twins", () => {
    const entityIds = rows.map((r) => r.entityId as string);
    const payloads = rows.map((r) => JSON.stringify(r.payload)).join("\n");
    for (const re of [/\p{Script=Han}/u, /\p{Extended_Pictographic}/u, /\p{Script=Arabic}/u, /\p{Script=Hebrew}/u]) {
      expect(entityIds.some((id) => re.test(id)), `entityId matching ${re}`).toBe(true);
      expect(re.test(payloads), `payload matching ${re}`).toBe(true);
    }
    expect(/\p{M}/u.test(payloads)).toBe(true);
    expect(entityIds).toContain("well-\u00e9");
    expect(entityIds).toContain("well-e\u0301");
  });

  it("has a payload larger than 200 KB", () => {
    const sizes = rows.map((r) => Buffer.byteLength(JSON.stringify(r.payload)));
    expect(Math.max(...sizes)).toBeGreaterThan(200_000);
  });

  it("has events of an entity this version does not know", () => {
    const unknown = rows.filter((r) => !(BUILTIN_ENTITIES as readonly string[]).includes(r.entity));
    expect(unknown.length).toBeGreaterThan(0);
    expect(new Set(unknown.map((r) => r.entity))).toEqual(new Set(["annotation"]));
    expect(new Set(unknown.map((r) => r.status))).toEqual(new Set(["failed", "pending"]));
  });
});

describe("reviveRow", () => {
  it("refuses a Typeson type a queued event should not hold, naming the path", () => {
    const row = { payload: { at: 1 }, $types: { "payload.at": "date" } };
    expect(() => reviveRow(row, "rows[3]")).toThrow('rows[3].$types["payload.at"]: type "date" is not expected');
  });

  it("removes an undefined property under an escaped key path", () => {
    const row = { payload: { "a.b": { c: 0, d: 1 } }, $types: { "payload.a~1b.c": "undef" } };
    expect(reviveRow(row, "row")).toEqual({ payload: { "a.b": { d: 1 } } });
  });
});

describe("browser-cache-export.json (CacheDB)", () => {
  it("is an export of the browser app's CacheDB v1 with chart and well entries and ttls", () => {
    expect(cache.formatName).toBe("dexie");
    expect(cache.data.databaseName).toBe("CacheDB");
    expect(cache.data.databaseVersion).toBe(1);
    const cacheRows: any[] = cache.data.data[0].rows;
    expect(cache.data.tables).toEqual([
      { name: "cache", schema: "key,timestamp,[timestamp+ttl]", rowCount: cacheRows.length },
    ]);
    expect(cacheRows.some((r) => r.key.startsWith("chart:"))).toBe(true);
    expect(cacheRows.some((r) => r.key.startsWith("well:"))).toBe(true);
    for (const r of cacheRows) {
      expect(Object.keys(r).filter((k) => k !== "$types")).toEqual(["key", "data", "timestamp", "ttl", "version"]);
      expect(r.ttl).toBeGreaterThan(0);
    }
  });
});

describe("browser-export.expected.json", () => {
  const expected = readJson("browser-export.expected.json");

  it("is the replay of every known-entity event of the export", () => {
    expect(expected).toEqual(JSON.parse(JSON.stringify(replayExport(queue))));
  });

  it("counts every event and lists the unknown-entity ones", () => {
    expect(expected.counts.total).toBe(rows.length);
    const unknownIds = rows.filter((r) => r.entity === "annotation").map((r) => r.id).sort();
    expect(expected.unknownEntityEventIds).toEqual(unknownIds);
  });

  it("reflects the last event of a row: a removed document is absent, a selected entry present", () => {
    const last = new Map<string, any>();
    for (const r of [...rows].sort((a, b) => a.timestamp - b.timestamp)) {
      if (r.entity === "chart_data_source") last.set(`${r.entityId}\u0000${r.payload.id}`, r);
      else last.set(`${r.entity}\u0000${r.entityId}`, r);
    }
    for (const [key, r] of last) {
      if (r.entity === "annotation") continue;
      if (r.entity === "chart_data_source") {
        const ids: string[] = expected.charts[r.entityId].entryIds;
        expect(ids.includes(r.payload.id), key).toBe(r.type !== "remove");
      } else {
        expect(key.split("\u0000")[1]! in expected.documents[r.entity], key).toBe(r.type !== "remove");
      }
    }
  });
});
