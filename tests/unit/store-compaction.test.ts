/**
 * Compaction of the Dexie store while writes go on (writer/live-compaction.ts): writes made during
 * the snapshot are neither blocked until it ends nor lost nor replayed twice, and a crash between
 * installing the new log and installing its snapshot recovers the old generation.
 */
import { copyFile, mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { QueuedEvent } from "../../src/core/event.ts";
import type { HistoryEntry } from "../../src/core/ports.ts";
import { openDexieStore } from "../../src/stores/dexie/index.ts";
import { makeEvent } from "../contract/queue-store-contract.ts";

let dir: string;
const opened: { close(): Promise<void> }[] = [];
async function openStore(mode: "write" | "read" = "write") {
  const s = await openDexieStore({ dir, mode, command: "compaction test" });
  opened.push(s);
  return s;
}
const files = async () => (await readdir(path.join(dir, "queue"))).filter((f) => f !== "LOCK").sort();

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-compaction-"));
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

/** Every event and its history, as a store answers them. */
async function contents(s: Awaited<ReturnType<typeof openStore>>, ids: string[]): Promise<{ rows: (QueuedEvent | undefined)[]; history: HistoryEntry[][] }> {
  const rows = await s.getMany(ids);
  const history = await Promise.all(ids.map((id) => s.history(id)));
  return { rows, history };
}

describe("dexie store compaction", () => {
  it("lets writes through while the snapshot is written, and keeps each of them exactly once", async () => {
    const s = await openStore();
    const n = 20_000;
    for (let i = 0; i < n; i += 1000) await s.enqueue(Array.from({ length: 1000 }, (_, k) => makeEvent(i + k)));
    let compacted = false;
    const compaction = s.compact().then(() => (compacted = true));
    // while it runs: claims and settles (history entries and new row images) and new events
    let writesDuring = 0;
    for (let round = 0; round < 5; round++) {
      const claimed = await s.claim({ limit: 50, leaseMs: 60_000, now: 100 + round, owner: "w" });
      await s.update(claimed.map((e) => ({ id: e.id, changes: { status: "completed", completedAt: 200 + round }, note: `settled in round ${round}` })));
      await s.enqueue([makeEvent(n + round)]);
      if (!compacted) writesDuring += 1;
    }
    const leased = await s.claim({ limit: 3, leaseMs: 60_000, now: 300, owner: "w2" });
    await compaction;
    // the rounds did not wait for the whole compaction
    expect(writesDuring).toBeGreaterThan(0);
    expect(await files()).toEqual(["snapshot-000001.ndjson", "wal-000001.log"]);
    const ids = Array.from({ length: n + 5 }, (_, i) => makeEvent(i).id);
    const before = await contents(s, ids);
    const counts = await s.counts();
    // a reader while the writer runs sees the writer's leases, laid over the rows
    const reader = await openStore("read");
    expect(await reader.counts()).toEqual(counts);
    expect((await reader.getMany(leased.map((e) => e.id))).map((e) => e?.status)).toEqual(["processing", "processing", "processing"]);
    await s.close();
    const r = await openStore();
    expect(await r.counts()).toEqual({ ...counts, pending: counts.pending + 3, processing: counts.processing - 3 });
    const after = await contents(r, ids);
    expect(after.history).toEqual(before.history);
    const unleased = (rows: (QueuedEvent | undefined)[]) => rows.map((e) => (e && leased.some((l) => l.id === e.id) ? { ...e, status: "pending" } : e));
    expect(after.rows.map((e) => e && { ...e, leaseUntil: undefined, leaseOwner: undefined })).toEqual(
      unleased(before.rows).map((e) => e && { ...e, leaseUntil: undefined, leaseOwner: undefined }),
    );
    expect(before.history.flat().filter((h) => h.note?.startsWith("settled in round")).length).toBe(250);
  });

  it("a crash between installing the new log and its snapshot recovers the old generation", async () => {
    const s = await openStore();
    await s.enqueue([makeEvent(1), makeEvent(2)]);
    await s.update([{ id: makeEvent(1).id, changes: { status: "completed" }, note: "done" }]);
    await s.close();
    // as installGeneration leaves it if the process dies right after the log's rename
    await copyFile(path.join(dir, "queue", "wal-000000.log"), path.join(dir, "queue", "wal-000001.log"));
    const r = await openStore();
    expect(await r.counts()).toMatchObject({ pending: 1, completed: 1 });
    expect((await r.history(makeEvent(1).id)).map((h) => h.note)).toEqual(["done"]);
    expect(await files()).toEqual(["wal-000000.log"]);
  });
});
