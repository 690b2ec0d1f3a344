import os from "node:os";
import path from "node:path";
import { appendFile, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Engine, type EngineHooks } from "../../src/core/engine.ts";
import { compareRowOrder, type QueuedEvent } from "../../src/core/event.ts";
import type { Clock } from "../../src/core/ports.ts";
import { RetryableSinkError, UsageError } from "../../src/errors.ts";
import { openDexieStore } from "../../src/stores/dexie/index.ts";
import { openDexieStorePart } from "../../src/stores/dexie/open-dexie-store.ts";
import { PartedStore } from "../../src/stores/dexie/parts/parted-store.ts";
import { currentGeneration, queueDirOf } from "../../src/stores/dexie/log/generation-files.ts";
import { rewritePartFile, splitStore } from "../../src/stores/dexie/parts/part-files.ts";
import { compactFromParts } from "../../src/stores/dexie/parts/compact-from-parts.ts";
import { inPart, partOfRow } from "../../src/stores/dexie/events/row-partition.ts";
import { estimateEvents, partCount } from "../../src/stores/dexie/parts/part-count.ts";
import { applyToModel, createModel, FakeClock, makeEvent, modelSnapshot } from "../helpers/fakes.ts";
import { ModelSink } from "../helpers/model-sink.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-parts-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const T0 = 1_700_000_000_000;

/** `rows` rows with `perRow` edits each (two clients, seq per client), in row order per row. */
function rowEdits(rows: number, perRow: number): QueuedEvent[] {
  const out: QueuedEvent[] = [];
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < perRow; k++) {
      out.push(makeEvent({ id: `r${r}-e${k}`, entity: "well", entityId: `w${r}`, clientId: "A", seq: k, timestamp: T0 + k * 1000 + r, payload: { [`f${k % 3}`]: k, last: k } }));
    }
  }
  return out;
}

async function filled(events: QueuedEvent[]): Promise<void> {
  const store = await openDexieStore({ dir, mode: "write" });
  try {
    await store.enqueue(events);
  } finally {
    await store.close();
  }
}

function engineFor(store: PartedStore, sink: ModelSink, clock: Clock, o: { batchSize?: number; coalesce?: boolean; hooks?: EngineHooks } = {}): Engine {
  return new Engine({
    store,
    sink,
    clock,
    ...(o.hooks ? { hooks: o.hooks } : {}),
    settings: {
      batchSize: o.batchSize ?? 7,
      coalesce: o.coalesce ?? true,
      leaseMs: 30_000,
      owner: "test",
      retry: { baseMs: 1000, maxMs: 30_000, jitter: 0, maxAttempts: 10 },
      strategyFor: () => "manual",
    },
  });
}

/** A store of `rows` rows with `perRow` edits each, opened in `parts` parts on a fake clock. */
async function partedStore(rows: number, perRow: number, parts: number, o: { compactMinBytes?: number } = {}) {
  const events = rowEdits(rows, perRow);
  await filled(events);
  const clock = new FakeClock(T0 + 100_000);
  return { events, clock, store: await PartedStore.open({ dir, parts, clock, ...o }) };
}

function reference(events: QueuedEvent[]) {
  const model = createModel();
  for (const e of [...events].sort(compareRowOrder)) {
    applyToModel(model, { id: e.id, type: e.type, entity: e.entity, entityId: e.entityId, payload: e.payload, timestamp: e.timestamp, clientId: e.clientId, seq: e.seq });
  }
  return modelSnapshot(model);
}

describe("store parts", () => {
  it("puts every row in one part, the same one on every call, and spreads rows over the parts", () => {
    const seen = new Array(4).fill(0);
    for (let i = 0; i < 400; i++) {
      const p = partOfRow("well", `w${i}`, 4);
      expect(partOfRow("well", `w${i}`, 4)).toBe(p);
      expect(inPart({ entity: "well", entityId: `w${i}` }, { index: p, count: 4 })).toBe(true);
      expect(inPart({ entity: "well", entityId: `w${i}` }, { index: (p + 1) % 4, count: 4 })).toBe(false);
      seen[p]++;
    }
    for (const n of seen) expect(n).toBeGreaterThan(60);
    expect(partCount(100_000, 20_000)).toBe(5);
    expect(partCount(19_000, 20_000)).toBe(1);
    expect(partCount(100_000, 0)).toBe(1);
  });

  it("estimates a store's events from its snapshot header and log size, at least as many as it holds", async () => {
    await filled(rowEdits(50, 4));
    const store = await openDexieStore({ dir, mode: "write" });
    await store.compact();
    await store.close();
    expect(await estimateEvents(queueDirOf(dir))).toBe(200);
    await filled([makeEvent({ id: "extra", entityId: "w-extra" })]);
    expect(await estimateEvents(queueDirOf(dir))).toBeGreaterThanOrEqual(201);
  });

  async function split(count: number) {
    const queueDir = queueDirOf(dir);
    return splitStore(queueDir, await currentGeneration(queueDir), count, { maxEvents: 1_000_000, dir });
  }

  it("splits snapshot and log into part files that hold, together, exactly the store's rows", async () => {
    await filled(rowEdits(30, 3));
    const store = await openDexieStore({ dir, mode: "write" });
    await store.compact();
    // after the snapshot: new events, changed rows, and an atomic group that aborted
    await store.enqueue(rowEdits(35, 1).slice(30).map((e) => ({ ...e, id: `late-${e.id}` })));
    await store.update([{ id: "r2-e1", changes: { status: "dead", lastError: "x" } }]);
    await expect(store.atomic(async () => {
      await store.enqueue([makeEvent({ id: "aborted", entityId: "w-aborted" })]);
      throw new Error("stop");
    })).rejects.toThrow("stop");
    await store.close();
    const whole = await openDexieStore({ dir, mode: "read" });
    const want: QueuedEvent[] = [];
    for await (const page of whole.scan()) want.push(...page);
    await whole.close();

    const { files } = await split(3);
    const got: QueuedEvent[] = [];
    for (let i = 0; i < 3; i++) {
      const part = await openDexieStorePart({ dir, part: { index: i, count: 3 }, file: files[i]! });
      for await (const page of part.scan()) {
        for (const e of page) expect(partOfRow(e.entity, e.entityId, 3)).toBe(i);
        got.push(...page);
      }
      await part.close();
    }
    const byId = (a: QueuedEvent, b: QueuedEvent) => a.id.localeCompare(b.id);
    expect(got.sort(byId)).toEqual(want.sort(byId));
    expect(got.find((e) => e.id === "aborted")).toBeUndefined();
    expect(got.find((e) => e.id === "r2-e1")).toMatchObject({ status: "dead" });
  });

  it("a part loads only its rows' events and refuses what needs the whole store", async () => {
    const events = rowEdits(40, 3);
    await filled(events);
    const { files } = await split(3);
    const part = await openDexieStorePart({ dir, part: { index: 1, count: 3 }, file: files[1]! });
    try {
      const mine = events.filter((e) => partOfRow(e.entity, e.entityId, 3) === 1);
      expect((await part.counts()).pending).toBe(mine.length);
      expect(await part.get(mine[0]!.id)).toMatchObject({ id: mine[0]!.id });
      const other = events.find((e) => partOfRow(e.entity, e.entityId, 3) !== 1)!;
      expect(await part.get(other.id)).toBeUndefined();
      await expect(part.enqueue([makeEvent({ id: "new" })])).rejects.toThrow(/part 2 of 3.*enqueue needs the whole store/);
      await expect(part.history(mine[0]!.id)).rejects.toThrow(/history needs the whole store/);
    } finally {
      await part.close();
    }
  });

  it("a part hands out the caller's own copies: changing a claimed event reaches neither the stored row nor its file", async () => {
    const events = rowEdits(12, 2);
    await filled(events);
    const { files } = await split(2);
    const part = await openDexieStorePart({ dir, part: { index: 0, count: 2 }, file: files[0]! });
    try {
      const [first] = await part.claim({ limit: 1, now: T0 + 100_000, leaseMs: 30_000, owner: "test" });
      const stored = events.find((e) => e.id === first!.id)!;
      first!.payload.last = "changed by the caller";
      first!.entityId = "elsewhere";
      const seen = await part.get(first!.id);
      expect(seen).toMatchObject({ status: "processing", entityId: stored.entityId, payload: stored.payload });
      // the settle builds the new image from the stored one, not from the caller's object
      await part.update([{ id: first!.id, changes: { status: "completed" }, expectOwner: "test" }]);
      const rows: QueuedEvent[] = [];
      for await (const page of part.persistedPages(1000)) rows.push(...page);
      expect(rows.find((r) => r.id === first!.id)).toMatchObject({ status: "completed", entityId: stored.entityId, payload: stored.payload });
      const [again] = await part.getMany([first!.id]);
      again!.payload.last = "changed again";
      expect((await part.get(first!.id))!.payload).toEqual(stored.payload);
    } finally {
      await part.close();
    }
  });

  it("drains every part, one at a time, to the same rows as applying every event one by one", async () => {
    const { events, clock, store } = await partedStore(60, 5, 4);
    const sink = new ModelSink();
    let summary;
    try {
      summary = await engineFor(store, sink, clock).drain();
      expect(store.opened).toBe(4);
    } finally {
      await store.close();
    }
    expect(summary.settled).toBe(events.length);
    expect(summary.left).toMatchObject({ pending: 0, processing: 0, failed: 0, dead: 0, completed: events.length });
    expect(modelSnapshot(sink.model)).toEqual(reference(events));
    // no batch mixes parts: a batch holds the rows of the part that was open
    for (const batch of sink.batches) expect(new Set(batch.map((e) => partOfRow(e.entity, e.entityId, 4))).size).toBe(1);
    // the whole store, opened again, holds every outcome and the history written by the parts
    const whole = await openDexieStore({ dir, mode: "read" });
    try {
      expect(await whole.counts()).toMatchObject({ completed: events.length, pending: 0 });
      const h = await whole.history("r3-e2");
      expect(h.map((x) => x.to)).toEqual(["processing", "completed"]);
    } finally {
      await whole.close();
    }
  });

  it("goes back to a part whose retries come due, with --wait, after the other parts", async () => {
    const { events, clock, store } = await partedStore(20, 2, 3);
    // the batch holding r5-e0 fails once; the rest of that part is applied meanwhile
    let failed = false;
    const sink = new (class extends ModelSink {
      override async applyBatch(events: Parameters<ModelSink["applyBatch"]>[0]) {
        if (!failed && events.some((e) => e.id === "r5-e0")) {
          failed = true;
          throw new RetryableSinkError("server busy", "40001");
        }
        return super.applyBatch(events);
      }
    })();
    const engine = engineFor(store, sink, clock, { batchSize: 2 });
    const stop = new AbortController();
    let done = false;
    const run = engine.drain({ wait: true, pollMs: 250, signal: stop.signal }).finally(() => (done = true));
    // the FakeClock only moves when told: move it while the engine sleeps (at most 60 s of it)
    for (let i = 0; i < 400 && !done; i++) {
      if (clock.sleeping > 0) await clock.advance(250);
      else await new Promise((r) => setTimeout(r, 5));
    }
    stop.abort();
    const summary = await run;
    await store.close();
    expect(summary.retried).toBeGreaterThan(0);
    expect(summary.left).toMatchObject({ pending: 0, failed: 0, completed: events.length });
    // the part was loaded again as it was left, not as it was split: nothing applied twice
    expect(summary.duplicates).toBe(0);
    expect(summary.applied).toBe(events.length);
    expect(store.opened).toBeGreaterThan(3);
    expect(modelSnapshot(sink.model)).toEqual(reference(events));
  });

  it("counts the parts it never opened when a run stops early, so nothing looks drained that is not", async () => {
    const { events, clock, store } = await partedStore(30, 2, 3);
    const stop = new AbortController();
    const sink = new ModelSink();
    const engine = engineFor(store, sink, clock, { batchSize: 5, coalesce: false, hooks: { onProgress: () => stop.abort() } });
    const summary = await engine.drain({ signal: stop.signal });
    await store.close();
    expect(store.opened).toBe(1 + 2); // the open part, then the two others loaded to count them
    expect(summary.left!.pending + summary.left!.completed).toBe(events.length);
    expect(summary.left!.completed).toBe(summary.settled);
    expect(summary.left!.pending).toBeGreaterThan(0);
  });

  it("holds the store's lock while open and refuses writes that need the whole store", async () => {
    await filled(rowEdits(10, 1));
    const store = await PartedStore.open({ dir, parts: 2 });
    try {
      await expect(openDexieStore({ dir, mode: "write" })).rejects.toThrow(/lock|held/i);
      await expect(store.enqueue()).rejects.toBeInstanceOf(UsageError);
    } finally {
      await store.close();
    }
    const again = await openDexieStore({ dir, mode: "write" });
    await again.close();
  });

  /** Everything a read-only open shows: rows, each event's history, the cache. */
  async function wholeState() {
    const store = await openDexieStore({ dir, mode: "read" });
    try {
      const rows: QueuedEvent[] = [];
      for await (const page of store.scan()) rows.push(...page);
      rows.sort((a, b) => a.id.localeCompare(b.id));
      const history: Record<string, unknown> = {};
      for (const r of rows) history[r.id] = await store.history(r.id);
      const keys = (await store.cache.keysWithPrefix("")).sort();
      const cache = await Promise.all(keys.map((k) => store.cache.get(k)));
      return { rows, history, cache };
    } finally {
      await store.close();
    }
  }

  it("compacts from the part files into a snapshot that holds exactly what the store held", async () => {
    await filled(rowEdits(25, 2));
    const store = await openDexieStore({ dir, mode: "write" });
    const claimed = await store.claim({ limit: 10, leaseMs: 30_000, now: T0 + 50_000, owner: "w1" });
    await store.update(claimed.map((e) => ({ id: e.id, changes: { status: "completed", completedAt: T0 + 50_001 }, expectOwner: "w1", note: "completed: applied v1" })));
    await store.cache.set({ key: "a", data: { n: 1 }, timestamp: T0, ttl: 1000, version: 1 });
    await store.cache.set({ key: "b", data: { n: 2 }, timestamp: T0, ttl: 1000, version: 1 });
    await store.compact();
    // after the snapshot: more claims, a cache delete, a committed and an aborted atomic group
    const more = await store.claim({ limit: 5, leaseMs: 30_000, now: T0 + 60_000, owner: "w2" });
    await store.update(more.map((e) => ({ id: e.id, changes: { status: "failed", nextAttemptAt: T0 + 70_000, lastError: "busy" }, expectOwner: "w2" })));
    await store.cache.deleteKeys(["a"]);
    await store.atomic(async () => {
      await store.update([{ id: "r20-e1", changes: { status: "dead", lastError: "gave up" }, note: "killed by hand" }]);
    });
    await expect(store.atomic(async () => {
      await store.update([{ id: "r21-e1", changes: { status: "dead" }, note: "never" }]);
      throw new Error("stop");
    })).rejects.toThrow("stop");
    await store.close();
    const before = await wholeState();
    expect(before.history["r21-e1"]).toEqual([]);

    const queueDir = queueDirOf(dir);
    const g = await currentGeneration(queueDir);
    const { files } = await split(3);
    const done = await compactFromParts(queueDir, g, files, before.rows.length, { maxEvents: 1_000_000, dir });
    expect(done.gen).toBe(g.gen + 1);
    const after = await currentGeneration(queueDir);
    expect(after).toMatchObject({ gen: g.gen + 1, walBytes: 0 });
    expect((await readdir(queueDir)).filter((f) => f.startsWith("wal-") || f.startsWith("snapshot-")).sort()).toEqual(
      [`snapshot-${String(g.gen + 1).padStart(6, "0")}.ndjson`, `wal-${String(g.gen + 1).padStart(6, "0")}.log`],
    );
    expect(await wholeState()).toEqual(before);
  });

  it("a drain in parts compacts the store on close once its log has grown", async () => {
    const { events, clock, store } = await partedStore(30, 2, 3, { compactMinBytes: 1 });
    await engineFor(store, new ModelSink(), clock).drain();
    await store.close();
    expect(store.warnings).toEqual([]);
    const g = await currentGeneration(queueDirOf(dir));
    expect(g).toMatchObject({ gen: 1, walBytes: 0 });
    expect((await readdir(queueDirOf(dir))).filter((f) => f.startsWith("part-"))).toEqual([]);
    const state = await wholeState();
    expect(state.rows.map((r) => r.status)).toEqual(events.map(() => "completed"));
    expect((state.history["r7-e1"] as { to: string }[]).map((h) => h.to)).toEqual(["processing", "completed"]);
  });

  it("cuts a torn tail of the log before splitting, says so, and drains what was acknowledged", async () => {
    const events = rowEdits(12, 2);
    await filled(events);
    const g = await currentGeneration(queueDirOf(dir));
    await appendFile(g.wal, '0badc0de {"k":"ev","rows":[{"id":"half-writ');
    const clock = new FakeClock(T0 + 100_000);
    const store = await PartedStore.open({ dir, parts: 2, clock });
    expect(store.warnings).toEqual([expect.stringMatching(/^recovered .*wal-000000\.log: cut 43 bytes of a write interrupted by a crash/)]);
    const summary = await engineFor(store, new ModelSink(), clock).drain();
    await store.close();
    expect(summary.left).toMatchObject({ completed: events.length, pending: 0 });
    expect((await currentGeneration(queueDirOf(dir))).walBytes).toBeGreaterThan(g.walBytes);
  });

  it("compacts rows as persisted: leases a failed run left behind end with it, as in any store", async () => {
    const { store } = await partedStore(10, 1, 2, { compactMinBytes: 1 });
    const got = await store.claim({ limit: 3, leaseMs: 30_000, now: T0 + 100_000, owner: "gone" });
    expect(got).toHaveLength(3);
    await store.update([{ id: got[0]!.id, changes: { status: "completed" }, expectOwner: "gone" }]);
    await store.close();
    expect((await currentGeneration(queueDirOf(dir))).gen).toBe(1);
    const state = await wholeState();
    expect(state.rows.find((r) => r.id === got[0]!.id)).toMatchObject({ status: "completed" });
    for (const e of got.slice(1)) {
      const row = state.rows.find((r) => r.id === e.id)!;
      expect(row.status).toBe("pending");
      expect(row.leaseOwner).toBeUndefined();
    }
  });

  it("a part file whose rewrite fails stays as it was, and the half-written copy is removed", async () => {
    await filled(rowEdits(12, 2));
    const { files } = await split(2);
    const before = await readFile(files[0]!);
    async function* failing(): AsyncIterable<QueuedEvent[]> {
      yield rowEdits(3, 1);
      throw new Error("disk gone");
    }
    await expect(rewritePartFile(files[0]!, failing())).rejects.toThrow("disk gone");
    expect(await readFile(files[0]!)).toEqual(before);
    expect((await readdir(queueDirOf(dir))).filter((f) => f.endsWith(".new.tmp"))).toEqual([]);
  });
});
