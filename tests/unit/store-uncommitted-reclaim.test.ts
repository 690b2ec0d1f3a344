/**
 * Log records of an atomic write that never committed (an import killed, or out of disk space,
 * before its commit record) count for nothing; a writer now gives their space back instead of
 * warning about them on every open: cut off the log's end when nothing that counts follows them,
 * else dropped by a compaction at open. A reader still only ignores them.
 */
import { appendFileSync, existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { importIntoDexieStore, openDexieStore } from "../../src/stores/dexie/index.ts";
import { encodeRecord } from "../../src/stores/dexie/log/log-record.ts";
import { makeEvent } from "../contract/queue-store-contract.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-reclaim-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const wal = (gen = 0) => path.join(dir, "queue", `wal-${String(gen).padStart(6, "0")}.log`);

/** A store holding evt-00001..3, closed; returns the log's size. */
async function seed(): Promise<number> {
  const s = await openDexieStore({ dir, mode: "write" });
  await s.enqueue([makeEvent(1), makeEvent(2), makeEvent(3)]);
  await s.close();
  return statSync(wal()).size;
}

/** Appends records of a group `tx` that never commits: 2 records of 50 events each. */
function appendUncommitted(tx: string): void {
  for (let r = 0; r < 2; r++) {
    const rows = Array.from({ length: 50 }, (_, i) => ({ ...makeEvent(100 + r * 50 + i), id: `lost-${r}-${i}` }));
    appendFileSync(wal(), encodeRecord({ k: "ev", rows, tx }));
  }
}

async function open(mode: "read" | "write") {
  const s = await openDexieStore({ dir, mode });
  const counts = s.openCounts();
  const warnings = [...s.warnings];
  const lost = (await s.getMany(["lost-0-0", "lost-1-49"])).filter(Boolean).length;
  const kept = (await s.getMany(["evt-00001", "evt-00002", "evt-00003", "evt-00004"])).filter(Boolean).length;
  await s.close();
  return { pending: counts.pending, warnings, lost, kept };
}

describe("records of an atomic write that never committed", () => {
  it("at the log's end: the next writer cuts them (one note), later opens have nothing to say", async () => {
    const size = await seed();
    appendUncommitted("aaaaaaaaaaaa");
    expect(statSync(wal()).size).toBeGreaterThan(size + 5000);

    const read = await open("read");
    expect(read).toMatchObject({ lost: 0, kept: 3, warnings: ["ignored 2 log records of an atomic write that never committed"] });
    expect(statSync(wal()).size).toBeGreaterThan(size + 5000); // a reader changes nothing

    const write = await open("write");
    expect(write.lost).toBe(0);
    expect(write.kept).toBe(3);
    expect(write.warnings).toEqual([expect.stringMatching(/^reclaimed \d+ bytes at the end of .*wal-000000\.log: 2 log records of an atomic write that never committed/)]);
    expect(statSync(wal()).size).toBe(size);

    expect((await open("write")).warnings).toEqual([]);
    expect((await open("read")).warnings).toEqual([]);
  });

  it("a torn line after them (a write cut short by the full disk) is cut too", async () => {
    const size = await seed();
    appendUncommitted("bbbbbbbbbbbb");
    appendFileSync(wal(), encodeRecord({ k: "ev", rows: [makeEvent(9)], tx: "bbbbbbbbbbbb" }).subarray(0, 40));
    const write = await open("write");
    expect(write.warnings).toEqual([expect.stringMatching(/interrupted by a crash/), expect.stringMatching(/^reclaimed \d+ bytes .*2 log records/)]);
    expect(statSync(wal()).size).toBe(size);
    expect((await open("write")).warnings).toEqual([]);
  });

  it("followed by records that count: a compaction at open drops them, keeping what counts", async () => {
    await seed();
    appendUncommitted("cccccccccccc");
    appendFileSync(wal(), encodeRecord({ k: "ev", rows: [makeEvent(4)] }));
    const write = await open("write");
    expect(write).toMatchObject({ lost: 0, kept: 4 });
    expect(write.warnings).toEqual(["ignored 2 log records of an atomic write that never committed", "compacted the store to reclaim them"]);
    expect(existsSync(wal(0))).toBe(false);
    expect(existsSync(wal(1))).toBe(true);
    const again = await open("write");
    expect(again).toMatchObject({ lost: 0, kept: 4, warnings: [] });
  });

  it("the streaming import reclaims them too before it writes", async () => {
    const size = await seed();
    appendUncommitted("dddddddddddd");
    const notes: string[] = [];
    async function* rows() {
      yield { table: "events" as const, value: { ...makeEvent(50) } as Record<string, unknown> };
    }
    const r = await importIntoDexieStore({ dir, onWarning: (n) => notes.push(n) }, rows());
    expect(r.events.inserted).toBe(1);
    expect(notes).toEqual([expect.stringMatching(/^reclaimed \d+ bytes .*2 log records of an atomic write that never committed/)]);
    expect(statSync(wal()).size).toBeLessThan(size + 2000);
    const after = await open("read");
    expect(after).toMatchObject({ warnings: [], lost: 0, kept: 3, pending: 4 });
  });
});
