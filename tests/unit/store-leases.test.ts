/**
 * Leases of the Dexie store live in the writer's memory: what the writer, a reopened writer and
 * read-only opens see of a leased event; list paging over leased events; writes that end a lease
 * (put, rollback of an atomic group); compaction; and a writer killed while it holds leases.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { QueuedEvent } from "../../src/core/event.ts";
import { type DexieQueueStore, openDexieStore } from "../../src/stores/dexie/index.ts";
import { makeEvent } from "../contract/queue-store-contract.ts";

const NOW = 5_000_000;
const ROOT = path.resolve(import.meta.dirname, "../..");
let dir: string;
const opened: DexieQueueStore[] = [];
let child: ChildProcess | undefined;

async function openStore(mode: "write" | "read" = "write"): Promise<DexieQueueStore> {
  const s = await openDexieStore({ dir, mode, command: "lease test" });
  opened.push(s);
  return s;
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-leases-"));
});
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  child = undefined;
  for (const s of opened.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

const ids = (events: QueuedEvent[]) => events.map((e) => e.id);

describe("dexie store leases", () => {
  it("release gives the owner's leases back: each event is as it was stored before the claim", async () => {
    const store = await openStore();
    await store.enqueue([
      makeEvent(1),
      makeEvent(2, { status: "failed", retryCount: 2, lastError: "boom" }),
      makeEvent(3, { status: "processing" }),
      makeEvent(4, { entityId: "other-row" }),
    ]);
    const claimed = await store.claim({ limit: 10, leaseMs: 60_000, now: NOW, owner: "w1" });
    expect(claimed.length).toBeGreaterThanOrEqual(3);
    await store.release(ids(claimed), "someone-else"); // not theirs: nothing happens
    expect((await store.counts()).processing).toBe(claimed.length);
    await store.release(ids(claimed), "w1");
    expect(await store.counts()).toMatchObject({ pending: 2, failed: 1, processing: 1 });
    expect(await store.get(makeEvent(2).id)).toMatchObject({ status: "failed", retryCount: 2, lastError: "boom" });
    expect((await store.get(makeEvent(3).id))?.leaseOwner).toBeUndefined();
    // and claimable again at once
    expect(await store.claim({ limit: 10, leaseMs: 60_000, now: NOW, owner: "w2" })).toHaveLength(claimed.length);
  });

  it("a reopened writer finds leased events as persisted and claimable at once, with the claim in their history", async () => {
    const w = await openStore();
    await w.enqueue([makeEvent(1), makeEvent(2, { status: "failed", retryCount: 1 })]);
    await w.claim({ limit: 10, leaseMs: 60_000, now: NOW, owner: "w1" });
    expect(await w.counts()).toMatchObject({ processing: 2, pending: 0, failed: 0 });
    await w.close();

    const again = await openStore();
    expect(await again.get("evt-00001")).toMatchObject({ status: "pending" });
    expect(await again.get("evt-00001")).not.toHaveProperty("leaseOwner");
    expect(await again.counts()).toMatchObject({ pending: 1, failed: 1, processing: 0 });
    expect(await again.history("evt-00002")).toMatchObject([{ from: "failed", to: "processing", note: "claimed by w1" }]);
    // no wait for the old lease: its holder is gone
    const got = await again.claim({ limit: 10, leaseMs: 1000, now: NOW + 1, owner: "w2" });
    expect(ids(got)).toEqual(["evt-00001", "evt-00002"]);
  });

  it("read-only opens see the leases of a live writer, also after compaction", async () => {
    const w = await openStore();
    await w.enqueue([makeEvent(1), makeEvent(2)]);
    await w.claim({ limit: 1, leaseMs: 60_000, now: NOW, owner: "w1" });
    await w.enqueue([makeEvent(3)]); // syncs the log, lease record included
    const r1 = await openStore("read");
    expect(await r1.get("evt-00001")).toMatchObject({ status: "processing", leaseOwner: "w1", leaseUntil: NOW + 60_000 });
    expect(await r1.counts()).toMatchObject({ processing: 1, pending: 2 });
    expect(await r1.history("evt-00001")).toMatchObject([{ from: "pending", to: "processing", note: "claimed by w1" }]);

    await w.compact();
    await w.enqueue([makeEvent(4)]);
    const r2 = await openStore("read");
    expect(await r2.get("evt-00001")).toMatchObject({ status: "processing", leaseOwner: "w1" });
    expect(await r2.history("evt-00001")).toHaveLength(1);

    await w.close();
    const r3 = await openStore("read");
    expect(await r3.get("evt-00001")).toMatchObject({ status: "pending" });
  });

  it("list pages leased events under processing only, in order, across cursors and both directions", async () => {
    const w = await openStore();
    await w.enqueue([
      ...Array.from({ length: 6 }, (_, n) => makeEvent(n)),
      makeEvent(10, { status: "processing", leaseUntil: NOW + 60_000, leaseOwner: "old" }),
    ]);
    // leases evt-0 to evt-4, oldest first, then releases evt-1 and evt-3
    for (let n = 0; n < 5; n++) await w.claim({ limit: 1, leaseMs: 60_000, now: NOW, owner: "w" });
    await w.update([{ id: "evt-00001", changes: { status: "pending", leaseUntil: undefined, leaseOwner: undefined }, expectOwner: "w" }]);
    await w.update([{ id: "evt-00003", changes: { status: "pending", leaseUntil: undefined, leaseOwner: undefined }, expectOwner: "w" }]);

    const pending = await w.list({ statuses: ["pending"], limit: 10, order: "asc" });
    expect(ids(pending.events)).toEqual(["evt-00001", "evt-00003", "evt-00005"]);
    const walk = async (order: "asc" | "desc") => {
      const seen: string[] = [];
      let after: string | undefined;
      do {
        const page = await w.list({ statuses: ["processing"], limit: 2, order, ...(after ? { after } : {}) });
        for (const e of page.events) expect(e.status).toBe("processing");
        seen.push(...ids(page.events));
        after = page.next ?? undefined;
      } while (after);
      return seen;
    };
    expect(await walk("asc")).toEqual(["evt-00000", "evt-00002", "evt-00004", "evt-00010"]);
    expect(await walk("desc")).toEqual(["evt-00010", "evt-00004", "evt-00002", "evt-00000"]);
    const all = await w.list({ limit: 20, order: "asc" });
    expect(all.events.filter((e) => e.status === "processing").map((e) => e.id)).toEqual(["evt-00000", "evt-00002", "evt-00004", "evt-00010"]);
    const scanned: QueuedEvent[] = [];
    for await (const page of w.scan(3)) scanned.push(...page);
    expect(ids(scanned.filter((e) => e.leaseOwner === "w"))).toEqual(["evt-00000", "evt-00002", "evt-00004"]);
  });

  it("claimed events are the caller's own: changing one in place changes nothing stored", async () => {
    const w = await openStore();
    await w.enqueue([makeEvent(1)]);
    const [got] = await w.claim({ limit: 1, leaseMs: 60_000, now: NOW, owner: "w1" });
    (got!.payload as { name: string }).name = "changed in place";
    await w.update([{ id: "evt-00001", changes: { status: "completed", leaseUntil: undefined, leaseOwner: undefined }, expectOwner: "w1" }]);
    expect(await w.get("evt-00001")).toMatchObject({ status: "completed", payload: { name: "well 1" } });
  });

  it("a put ends the lease; a lost lease is reported", async () => {
    const w = await openStore();
    await w.enqueue([makeEvent(1)]);
    await w.claim({ limit: 1, leaseMs: 60_000, now: NOW, owner: "w1" });
    await w.put([makeEvent(1, { payload: { replaced: true } })]);
    expect(await w.get("evt-00001")).toMatchObject({ status: "pending", payload: { replaced: true } });
    expect(await w.counts()).toMatchObject({ pending: 1, processing: 0 });
    const r = await w.update([{ id: "evt-00001", changes: { status: "completed" }, expectOwner: "w1" }]);
    expect(r.lost).toEqual(["evt-00001"]);
    expect(ids(await w.claim({ limit: 1, leaseMs: 1000, now: NOW, owner: "w2" }))).toEqual(["evt-00001"]);
  });

  it("a rolled-back atomic group puts the leases it ended back", async () => {
    const w = await openStore();
    await w.enqueue([makeEvent(1), makeEvent(2)]);
    await w.claim({ limit: 2, leaseMs: 60_000, now: NOW, owner: "w1" });
    await expect(
      w.atomic(async () => {
        await w.update([{ id: "evt-00001", changes: { status: "completed", leaseUntil: undefined, leaseOwner: undefined }, expectOwner: "w1" }]);
        await w.claim({ limit: 5, leaseMs: 1000, now: NOW + 120_000, owner: "w2" }); // evt-2's lease expired: taken over
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await w.getMany(["evt-00001", "evt-00002"])).toMatchObject([
      { status: "processing", leaseOwner: "w1" },
      { status: "processing", leaseOwner: "w1" },
    ]);
    expect(await w.counts()).toMatchObject({ processing: 2, completed: 0, pending: 0 });
    expect((await w.history("evt-00002")).map((h) => h.note)).toEqual(["claimed by w1"]);
    const r = await w.update(["evt-00001", "evt-00002"].map((id) => ({ id, changes: { status: "completed" as const }, expectOwner: "w1" })));
    expect(r.lost).toEqual([]);
  });

  it("an expired lease is taken over and the history says whose it was", async () => {
    const w = await openStore();
    await w.enqueue([makeEvent(1)]);
    await w.claim({ limit: 1, leaseMs: 100, now: NOW, owner: "w1" });
    await w.claim({ limit: 1, leaseMs: 100, now: NOW + 100, owner: "w2" });
    expect((await w.history("evt-00001")).map((h) => h.note)).toEqual(["claimed by w1", "claimed by w2; lease of w1 expired"]);
    expect((await w.update([{ id: "evt-00001", changes: { status: "completed" }, expectOwner: "w1" }])).lost).toEqual(["evt-00001"]);
    await w.enqueue([makeEvent(2)]);
    const fresh = await openStore("read");
    expect((await fresh.history("evt-00001")).map((h) => h.note)).toEqual(["claimed by w1", "claimed by w2; lease of w1 expired"]);
  });

  it("a writer killed while it holds leases leaves the events pending and claimable at once", async () => {
    const w = await openStore();
    await w.enqueue([makeEvent(1), makeEvent(2)]);
    await w.close();
    const script = path.join(dir, "claimer.mts");
    await writeFile(
      script,
      `import { openDexieStore } from ${JSON.stringify(path.join(ROOT, "src/stores/dexie/index.ts"))};
const store = await openDexieStore({ dir: ${JSON.stringify(dir)}, mode: "write", command: "claimer" });
await store.claim({ limit: 10, leaseMs: 3_600_000, now: Date.now(), owner: "child" });
await store.enqueue([{ id: "sync", type: "add", entity: "well", entityId: "s", payload: {}, timestamp: 1, status: "completed", retryCount: 0 }]);
process.stdout.write("claimed\\n");
setInterval(() => undefined, 1000);
`,
    );
    const c = spawn(process.execPath, ["--import", "tsx", script], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    let stderr = "";
    c.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      c.stdout!.on("data", (d: Buffer) => d.toString().includes("claimed") && resolve());
      c.on("exit", (code) => reject(new Error(`claimer exited with ${code}: ${stderr}`)));
    });
    const whileAlive = await openStore("read");
    expect(await whileAlive.counts()).toMatchObject({ processing: 2, pending: 0 });
    const exited = new Promise((resolve) => c.on("exit", resolve));
    c.kill("SIGKILL");
    await exited;

    const afterDeath = await openStore("read");
    expect(await afterDeath.counts()).toMatchObject({ processing: 0, pending: 2 });
    const next = await openStore();
    expect(ids(await next.claim({ limit: 10, leaseMs: 1000, now: Date.now(), owner: "w2" }))).toEqual(["evt-00001", "evt-00002"]);
  });
});
