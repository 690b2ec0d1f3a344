/**
 * An encrypted local store below the CLI: a drain in parts (part files and the compaction from
 * parts sealed too, the sink gets the payloads in clear), a live compaction, an altered event
 * record (damage, never a torn tail), and cache entries altered on disk (rejected, reported and
 * fetched again, never served), encrypted or not.
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile, rm, writeFile, mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine.ts";
import { TtlCache } from "../../src/core/cache.ts";
import type { QueuedEvent } from "../../src/core/event.ts";
import { StoreCorruptError } from "../../src/errors.ts";
import { parseKey, type StoreKey } from "../../src/stores/dexie/crypto/store-key.ts";
import { openDexieStore } from "../../src/stores/dexie/index.ts";
import { crc32Hex } from "../../src/stores/dexie/log/crc32.ts";
import { currentGeneration, queueDirOf } from "../../src/stores/dexie/log/generation-files.ts";
import { PartedStore } from "../../src/stores/dexie/parts/parted-store.ts";
import { FakeClock, makeEvent } from "../helpers/fakes.ts";
import { ModelSink } from "../helpers/model-sink.ts";

const MARK = "SECRET-PAYLOAD";
const T0 = 1_700_000_000_000;
const newKey = (): StoreKey => parseKey(Buffer.from(randomBytes(32).toString("hex")), "MUDSYNC_KEY");

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-encrypted-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function events(n: number): QueuedEvent[] {
  return Array.from({ length: n }, (_, i) =>
    makeEvent({ id: `e${String(i).padStart(4, "0")}`, entityId: `w${i % 13}`, clientId: "A", seq: i, timestamp: T0 + i, payload: { note: `${MARK}-${i}` } }),
  );
}

/** Files under the queue directory holding the marker, with what they were while `during` ran. */
async function plaintextFiles(): Promise<string[]> {
  const q = queueDirOf(dir);
  const found: string[] = [];
  for (const name of await readdir(q)) if ((await readFile(path.join(q, name))).includes(MARK)) found.push(name);
  return found;
}

/** Rewrites the first log line whose JSON starts with `prefix` with `change` applied, its checksum made right. */
async function alterLine(file: string, prefix: string, change: (record: Record<string, unknown>) => void): Promise<void> {
  const lines = (await readFile(file, "utf8")).split("\n");
  const i = lines.findIndex((l) => l.slice(9).startsWith(prefix));
  expect(i).toBeGreaterThanOrEqual(0);
  const record = JSON.parse(lines[i]!.slice(9)) as Record<string, unknown>;
  change(record);
  const json = JSON.stringify(record);
  lines[i] = `${crc32Hex(Buffer.from(json))} ${json}`;
  await writeFile(file, lines.join("\n"));
}

describe("an encrypted store drained in parts", () => {
  it("seals its part files and the compaction from parts, and the sink gets every payload in clear", async () => {
    const key = newKey();
    const all = events(120);
    const w = await openDexieStore({ dir, mode: "write", keys: { key } });
    await w.enqueue(all);
    await w.close();
    expect(await plaintextFiles()).toEqual([]);

    const clock = new FakeClock(T0 + 100_000);
    const store = await PartedStore.open({ dir, parts: 3, clock, compactMinBytes: 1, keys: { key } });
    // the part files exist now, and are sealed
    expect((await readdir(queueDirOf(dir))).filter((f) => f.startsWith("part-"))).toHaveLength(3);
    expect(await plaintextFiles()).toEqual([]);
    const sink = new ModelSink();
    const engine = new Engine({
      store, sink, clock,
      settings: { batchSize: 10, coalesce: false, leaseMs: 30_000, owner: "t", retry: { baseMs: 1000, maxMs: 30_000, jitter: 0, maxAttempts: 10 }, strategyFor: () => "manual" },
    });
    await engine.drain();
    await store.close();
    expect(store.warnings).toEqual([]);
    const notes = sink.batches.flat().map((e) => (e.payload as { note: string }).note).sort();
    expect(notes).toEqual(all.map((e) => (e.payload as { note: string }).note).sort());
    expect((await currentGeneration(queueDirOf(dir))).gen).toBe(1);
    expect(await plaintextFiles()).toEqual([]);

    await expect(PartedStore.open({ dir, parts: 2, clock })).rejects.toThrow(/is encrypted/);
    const r = await openDexieStore({ dir, mode: "read", keys: { key } });
    const rows = [];
    for await (const page of r.scan(1000)) rows.push(...page);
    await r.close();
    expect(rows.map((e) => e.status)).toEqual(all.map(() => "completed"));
    expect(rows.map((e) => e.payload)).toEqual(all.map((e) => e.payload));
  });
});

describe("an encrypted store's files", () => {
  it("a live compaction writes a sealed snapshot", async () => {
    const key = newKey();
    const w = await openDexieStore({ dir, mode: "write", keys: { key } });
    await w.enqueue(events(50));
    await w.compact();
    await w.enqueue(events(60).slice(50));
    await w.close();
    const q = await readdir(queueDirOf(dir));
    expect(q).toContain("snapshot-000001.ndjson");
    expect(await plaintextFiles()).toEqual([]);
    const r = await openDexieStore({ dir, mode: "read", keys: { key } });
    expect((await r.get("e0055"))?.payload).toEqual({ note: `${MARK}-55` });
    await r.close();
  });

  it("an altered event record is damage naming its offset, even as the log's last line, and is never cut", async () => {
    const key = newKey();
    const w = await openDexieStore({ dir, mode: "write", keys: { key } });
    await w.enqueue(events(5));
    await w.close();
    const g = await currentGeneration(queueDirOf(dir));
    await alterLine(g.wal, '{"k":"ev"', (r) => {
      const s = r.s as { c: string };
      s.c = `${s.c.slice(0, 10)}${s.c[10] === "A" ? "B" : "A"}${s.c.slice(11)}`;
    });
    const before = await readFile(g.wal);
    for (const mode of ["read", "write"] as const) {
      const error = await openDexieStore({ dir, mode, keys: { key } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreCorruptError);
      expect((error as Error).message).toMatch(/wal-000000\.log is damaged: ev record fails authentication \(altered\) at byte offset 0/);
    }
    expect((await readFile(g.wal)).equals(before)).toBe(true);
  });
});

describe("cache entries altered on disk", () => {
  for (const encrypted of [false, true]) {
    it(`are rejected, reported and fetched again, never served (${encrypted ? "encrypted" : "not encrypted"} store)`, async () => {
      const keys = encrypted ? { key: newKey() } : {};
      const clock = new FakeClock(T0);
      const w = await openDexieStore({ dir, mode: "write", keys, clock });
      const cache = new TtlCache(w.cache, clock);
      await cache.set("row:well:w1", { name: "from the server" });
      await cache.set("row:well:w2", { name: "other" });
      await w.close();

      const g = await currentGeneration(queueDirOf(dir));
      await alterLine(g.wal, '{"k":"cache"', (r) => {
        if (encrypted) {
          const s = r.s as { c: string };
          s.c = `A${s.c.slice(1)}` === s.c ? `B${s.c.slice(1)}` : `A${s.c.slice(1)}`;
        } else {
          (r.rows as { data: unknown }[])[0]!.data = { name: "planted" };
        }
      });

      const again = await openDexieStore({ dir, mode: "write", keys, clock });
      const reported: string[] = [];
      again.onCacheAltered((k) => reported.push(k));
      const cache2 = new TtlCache(again.cache, clock);
      let fetched = 0;
      const fetcher = async () => {
        fetched++;
        return { name: "fetched again" };
      };
      expect(await cache2.get("row:well:w1", fetcher)).toEqual({ name: "fetched again" });
      expect(fetched).toBe(1);
      expect(reported).toEqual(["row:well:w1"]);
      expect(again.cacheAltered).toBe(1);
      // the fresh entry is served from now on; the untouched entry was served all along
      expect(await cache2.get("row:well:w1", fetcher)).toEqual({ name: "fetched again" });
      expect(fetched).toBe(1);
      expect(await cache2.peek("row:well:w2")).toEqual({ name: "other" });
      await again.close();
      expect(reported).toEqual(["row:well:w1"]);
    });
  }

  it("an entry stored without a tag is not served (its tag cannot have been stripped unnoticed)", async () => {
    const clock = new FakeClock(T0);
    const w = await openDexieStore({ dir, mode: "write", clock });
    const cache = new TtlCache(w.cache, clock);
    await cache.set("k", { v: 1 });
    await w.close();
    const g = await currentGeneration(queueDirOf(dir));
    await alterLine(g.wal, '{"k":"cache"', (r) => {
      delete (r.rows as { mac?: string }[])[0]!.mac;
    });
    const again = await openDexieStore({ dir, mode: "write", clock });
    expect(await new TtlCache(again.cache, clock).peek("k")).toBeUndefined();
    expect(again.cacheAltered).toBe(0);
    await again.close();
  });
});

describe("mudsync doctor on a store with altered cache entries", () => {
  it("reports them as altered-cache, naming the keys, without serving or deleting them", async () => {
    const { diagnose } = await import("../../src/doctor/diagnose.ts");
    const key = newKey();
    const clock = new FakeClock(T0);
    const w = await openDexieStore({ dir, mode: "write", keys: { key }, clock });
    await w.enqueue(events(3));
    const cache = new TtlCache(w.cache, clock);
    for (const k of ["a", "b", "c"]) await cache.set(`row:well:${k}`, { k });
    await w.close();

    const clean = await diagnose({ kind: "store", dir, keys: { key } }, { now: T0 });
    expect(clean.findings.filter((f) => f.kind === "altered-cache")).toEqual([]);

    const g = await currentGeneration(queueDirOf(dir));
    const lines = (await readFile(g.wal, "utf8")).split("\n");
    const cacheLines = lines.map((l, i) => [l, i] as const).filter(([l]) => l.slice(9).startsWith('{"k":"cache"'));
    expect(cacheLines).toHaveLength(3);
    // the second entry's record: its sealed data altered, its checksum made right
    const [line, at] = cacheLines[1]!;
    const record = JSON.parse(line.slice(9)) as { s: { c: string } };
    record.s.c = `${record.s.c[0] === "A" ? "B" : "A"}${record.s.c.slice(1)}`;
    const json = JSON.stringify(record);
    lines[at] = `${crc32Hex(Buffer.from(json))} ${json}`;
    await writeFile(g.wal, lines.join("\n"));
    const before = await readFile(g.wal);

    const report = await diagnose({ kind: "store", dir, keys: { key } }, { now: T0 });
    const found = report.findings.filter((f) => f.kind === "altered-cache");
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ severity: "error", title: "1 of 3 cache entries were altered on disk" });
    expect(found[0]!.evidence).toContain("row:well:b");
    expect(found[0]!.fix).toContain("store rotate-key --new-key-file");
    expect(report.healthy).toBe(false);
    expect((await readFile(g.wal)).equals(before)).toBe(true);
  });
});

describe("the daemon's report of altered cache entries", () => {
  it("logs cache_entry_altered and counts mudsync_cache_entries_altered_total once per rejected entry", async () => {
    const { reportAlteredCache } = await import("../../src/daemon/cache-tamper-report.ts");
    const { pino } = await import("pino");
    const { Counter, Registry } = await import("prom-client");
    const clock = new FakeClock(T0);
    const w = await openDexieStore({ dir, mode: "write", clock });
    await new TtlCache(w.cache, clock).set("row:well:w9", { v: 1 });
    await w.close();
    const g = await currentGeneration(queueDirOf(dir));
    await alterLine(g.wal, '{"k":"cache"', (r) => {
      (r.rows as { data: unknown }[])[0]!.data = { v: 2 };
    });

    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (l: string) => void lines.push(l) });
    const registry = new Registry();
    const counter = new Counter({ name: "mudsync_cache_entries_altered_total", help: "altered", registers: [registry] });
    const store = await openDexieStore({ dir, mode: "write", clock });
    reportAlteredCache(store, logger, counter);
    const cache = new TtlCache(store.cache, clock);
    expect(await cache.get("row:well:w9", async () => ({ v: 3 }))).toEqual({ v: 3 });
    await store.close();
    expect(lines.map((l) => JSON.parse(l) as { event: string; key: string; level: number })).toEqual([
      expect.objectContaining({ event: "cache_entry_altered", key: "row:well:w9", level: 40 }),
    ]);
    expect(await registry.getSingleMetricAsString("mudsync_cache_entries_altered_total")).toMatch(/^mudsync_cache_entries_altered_total 1$/m);
  });
});
