/**
 * Enqueue details of the Dexie store: concurrent callers merged into one write report each id as
 * inserted exactly once, and an atomic group's writes are on disk once `atomic` has resolved
 * (they do not wait for the disk one by one; the commit marker does).
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DexieQueueStore, openDexieStore } from "../../src/stores/dexie/index.ts";
import { makeEvent } from "../contract/queue-store-contract.ts";

let dir: string;
const opened: DexieQueueStore[] = [];
async function openStore(mode: "write" | "read" = "write", maxEvents?: number) {
  const s = await openDexieStore({ dir, mode, command: "enqueue test", ...(maxEvents ? { maxEvents } : {}) });
  opened.push(s);
  return s;
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-enqueue-"));
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

describe("dexie store enqueue", () => {
  it("concurrent callers with overlapping ids: each id is inserted once, the first image is kept", async () => {
    const s = await openStore();
    await s.enqueue([makeEvent(1)]);
    const calls = await Promise.all([
      s.enqueue([makeEvent(2, { payload: { by: "a" } }), makeEvent(1), makeEvent(2, { payload: { by: "a again" } })]),
      s.enqueue([makeEvent(3), makeEvent(2, { payload: { by: "b" } })]),
      s.enqueue([makeEvent(3, { payload: { by: "c" } }), makeEvent(4)]),
    ]);
    expect(calls).toEqual([
      { inserted: ["evt-00002"], existing: ["evt-00001", "evt-00002"] },
      { inserted: ["evt-00003"], existing: ["evt-00002"] },
      { inserted: ["evt-00004"], existing: ["evt-00003"] },
    ]);
    expect((await s.get("evt-00002"))?.payload).toEqual({ by: "a" });
    expect((await s.get("evt-00003"))?.payload).toEqual(makeEvent(3).payload);
    expect(await s.counts()).toMatchObject({ pending: 4 });
    const reader = await openStore("read");
    expect(await reader.counts()).toMatchObject({ pending: 4 });
    expect((await reader.get("evt-00002"))?.payload).toEqual({ by: "a" });
  });

  it("at the size limit only new events count, and the limit still holds", async () => {
    const s = await openStore("write", 3);
    await s.enqueue([makeEvent(1), makeEvent(2)]);
    expect(await s.enqueue([makeEvent(1), makeEvent(2), makeEvent(3)])).toEqual({ inserted: ["evt-00003"], existing: ["evt-00001", "evt-00002"] });
    await expect(s.enqueue([makeEvent(3), makeEvent(4)])).rejects.toThrow(/more than the local store takes/);
    expect(await s.counts()).toMatchObject({ pending: 3 });
  });

  it("an atomic group is on disk when atomic resolves", async () => {
    const s = await openStore();
    await s.atomic(async () => {
      for (let i = 0; i < 20; i++) await s.enqueue([makeEvent(i * 2), makeEvent(i * 2 + 1)]);
    });
    // read-only open reads only what is in the files; the writer is still open
    const reader = await openStore("read");
    expect(await reader.counts()).toMatchObject({ pending: 40 });
    expect(reader.warnings).toEqual([]);
  });
});
