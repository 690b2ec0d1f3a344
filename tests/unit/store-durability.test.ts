/**
 * The Dexie store on disk: reopening, atomic groups across a crash, torn-tail recovery, damage
 * detection, compaction and the size limit.
 */
import { appendFile, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreCorruptError, StoreTooLargeError } from "../../src/errors.ts";
import { openDexieStore } from "../../src/stores/dexie/index.ts";
import { makeEvent } from "../contract/queue-store-contract.ts";

let dir: string;
const open: { close(): Promise<void> }[] = [];
async function openStore(mode: "write" | "read" = "write", extra: { maxEvents?: number; compactMinBytes?: number } = {}) {
  const s = await openDexieStore({ dir, mode, command: "durability test", ...extra });
  open.push(s);
  return s;
}
const wal0 = () => path.join(dir, "queue", "wal-000000.log");

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-store-"));
});
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

describe("dexie store on disk", () => {
  it("keeps events, history and cache across reopen", async () => {
    const s = await openStore();
    await s.enqueue([makeEvent(1), makeEvent(2)]);
    await s.claim({ limit: 1, leaseMs: 1000, now: 5, owner: "w" });
    await s.update([{ id: "evt-00001", changes: { status: "completed" }, note: "done" }]);
    await s.cache.set({ key: "well:1", data: { a: 1 }, timestamp: 10, ttl: 5, version: 2 });
    await s.close();
    const r = await openStore();
    expect(await r.counts()).toMatchObject({ pending: 1, completed: 1 });
    expect((await r.history("evt-00001")).map((h) => h.to)).toEqual(["processing", "completed"]);
    expect(await r.cache.get("well:1")).toEqual({ key: "well:1", data: { a: 1 }, timestamp: 10, ttl: 5, version: 2 });
    expect(r.recovered).toBeUndefined();
    expect(r.warnings).toEqual([]);
  });

  it("an atomic group commits all of its writes together", async () => {
    const s = await openStore();
    await s.atomic(async () => {
      await s.put([makeEvent(1)]);
      await s.enqueue([makeEvent(2)]);
    });
    await s.close();
    expect(await (await openStore()).counts()).toMatchObject({ pending: 2 });
  });

  it("an atomic group that throws leaves the store exactly as before", async () => {
    const s = await openStore();
    await s.enqueue([makeEvent(1)]);
    await s.cache.set({ key: "k", data: 1, timestamp: 1, ttl: 1, version: 1 });
    await expect(
      s.atomic(async () => {
        await s.put([makeEvent(1, { status: "dead" }), makeEvent(2)]);
        await s.cache.deleteKeys(["k"]);
        await s.update([{ id: "evt-00002", changes: { status: "failed" }, note: "x" }]);
        throw new Error("row 7 is bad");
      }),
    ).rejects.toThrow("row 7 is bad");
    const check = async (st: Awaited<ReturnType<typeof openStore>>) => {
      expect(await st.get("evt-00001")).toEqual(makeEvent(1));
      expect(await st.get("evt-00002")).toBeUndefined();
      expect(await st.history("evt-00002")).toEqual([]);
      expect(await st.cache.get("k")).toBeDefined();
      expect(await st.counts()).toMatchObject({ pending: 1, dead: 0, failed: 0 });
    };
    await check(s);
    await s.close();
    await check(await openStore());
  });

  it("other writers wait while an atomic group is open", async () => {
    const s = await openStore();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const group = s.atomic(async () => {
      await s.put([makeEvent(1)]);
      entered();
      await gate;
    });
    await inside;
    const outside = s.enqueue([makeEvent(2)]);
    await new Promise((r) => setTimeout(r, 20));
    expect(await s.get("evt-00002")).toBeUndefined();
    release();
    await group;
    await outside;
    expect(await s.get("evt-00002")).toBeDefined();
  });

  it("a crash before the commit marker reached the disk discards the whole group", async () => {
    const s = await openStore();
    await s.enqueue([makeEvent(1)]);
    const before = (await stat(wal0())).size;
    await s.atomic(async () => {
      await s.put([makeEvent(2)]);
      await s.put([makeEvent(3)]);
    });
    await s.close();
    // cut the log just before the commit line, as a crash between the writes would
    const text = await readFile(wal0(), "utf8");
    const commitAt = text.lastIndexOf("\n", text.length - 2) + 1;
    expect(text.slice(commitAt)).toContain('"k":"commit"');
    expect(commitAt).toBeGreaterThan(before);
    await truncate(wal0(), commitAt);
    const r = await openStore();
    expect(await r.counts()).toMatchObject({ pending: 1 });
    expect(await r.get("evt-00002")).toBeUndefined();
    expect(r.warnings.join("\n")).toMatch(/atomic write that never committed/);
  });

  it("cuts a torn last line and says so; acknowledged events survive", async () => {
    const s = await openStore();
    await s.enqueue([makeEvent(1), makeEvent(2)]);
    await s.close();
    const good = (await stat(wal0())).size;
    await appendFile(wal0(), '1234abcd {"k":"ev","rows":[{"id":"half');
    const reader = await openStore("read");
    expect(await reader.counts()).toMatchObject({ pending: 2 });
    expect(reader.recovered).toBeUndefined();
    expect((await stat(wal0())).size).toBeGreaterThan(good); // readers do not repair
    const r = await openStore();
    expect(r.recovered).toEqual({ truncatedBytes: 38, file: wal0() });
    expect(r.warnings[0]).toMatch(/cut 38 bytes/);
    expect((await stat(wal0())).size).toBe(good);
    expect(await r.counts()).toMatchObject({ pending: 2 });
    await r.enqueue([makeEvent(3)]);
    await r.close();
    expect(await (await openStore()).counts()).toMatchObject({ pending: 3 });
  });

  it("damage in the middle of the log is an error naming the file and offset", async () => {
    const s = await openStore();
    await s.enqueue([makeEvent(1)]);
    await s.enqueue([makeEvent(2)]);
    await s.close();
    const buf = await readFile(wal0());
    const second = buf.indexOf(0x0a) + 1;
    buf[20] = buf[20] === 0x41 ? 0x42 : 0x41; // flip a byte inside the first record
    await writeFile(wal0(), buf);
    const err = await openStore().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreCorruptError);
    expect((err as Error).message).toContain(wal0());
    expect((err as Error).message).toMatch(/checksum mismatch at byte offset 0/);
    expect(second).toBeGreaterThan(0);
    // the failed open released the lock
    await expect(readdir(path.join(dir, "queue"))).resolves.not.toContain("LOCK");
  });

  it("compacts into a snapshot, reopens from it and keeps writing", async () => {
    const s = await openStore("write", { compactMinBytes: 2000 });
    for (let n = 0; n < 40; n++) await s.enqueue([makeEvent(n)]);
    await s.claim({ limit: 5, leaseMs: 1000, now: 1, owner: "w" });
    await s.close();
    const files = await readdir(path.join(dir, "queue"));
    const snapshots = files.filter((f) => f.startsWith("snapshot-"));
    expect(snapshots.length).toBe(1);
    expect(files.filter((f) => f.startsWith("wal-"))).toEqual([snapshots[0]!.replace("snapshot-", "wal-").replace(".ndjson", ".log")]);
    const r = await openStore();
    // leases end with the writer that held them; the claims stay in the history
    expect(await r.counts()).toMatchObject({ pending: 40, processing: 0 });
    expect(await r.history("evt-00000")).toMatchObject([{ from: "pending", to: "processing", note: "claimed by w" }]);
    expect(await r.list({ limit: 3, order: "asc" })).toMatchObject({ events: [{ id: "evt-00000" }, { id: "evt-00001" }, { id: "evt-00002" }] });
  });

  it("recovers from a crash in the middle of compaction (temp snapshot left behind)", async () => {
    const s = await openStore();
    await s.enqueue([makeEvent(1)]);
    await s.close();
    await writeFile(path.join(dir, "queue", "snapshot-000001.ndjson.tmp"), "partial");
    const r = await openStore();
    expect(await r.counts()).toMatchObject({ pending: 1 });
    expect(await readdir(path.join(dir, "queue"))).not.toContain("snapshot-000001.ndjson.tmp");
  });

  it("a damaged snapshot is an error naming it", async () => {
    const s = await openStore();
    await s.enqueue([makeEvent(1), makeEvent(2)]);
    await s.compact();
    await s.close();
    const snap = path.join(dir, "queue", "snapshot-000001.ndjson");
    const size = (await stat(snap)).size;
    await truncate(snap, size - 5);
    await expect(openStore("read")).rejects.toThrow(new RegExp(`${snap}.*(byte offset|truncated)`));
    await expect(openStore("read")).rejects.toBeInstanceOf(StoreCorruptError);
  });

  it("refuses more events than the local store takes, pointing to the Postgres store", async () => {
    const s = await openStore("write", { maxEvents: 3 });
    await s.enqueue([makeEvent(1), makeEvent(2), makeEvent(3)]);
    const err = await s.enqueue([makeEvent(4)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreTooLargeError);
    expect((err as Error).message).toMatch(/--queue postgres:/);
    await s.compact();
    await s.close();
    await expect(openStore("read", { maxEvents: 2 })).rejects.toBeInstanceOf(StoreTooLargeError);
  });
});
