/**
 * The sources `mudsync top` reads without a daemon, on real stores: a local store read-only (counts,
 * the oldest pending, pages by cursor, one event with its history, the keys that write refused with
 * the reason, a write by another process seen at the next refresh, concurrent reads answered
 * alike) and the shared Postgres queue in one read-only transaction per refresh (a new row seen at
 * the next refresh, nothing created or written). The doctor's findings come from the same store.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueuedEvent } from "../../src/core/event.ts";
import { resolveConfig } from "../../src/config/config.ts";
import type { CommandContext } from "../../src/commands/shared/context.ts";
import { openTopSource } from "../../src/commands/top/open-source.ts";
import { DEFAULT_FILTER } from "../../src/tui/top/filter.ts";
import type { TopSource } from "../../src/tui/top/model.ts";
import { openDexieStore } from "../../src/stores/dexie/index.ts";
import { openPostgresQueueStore } from "../../src/stores/postgres/index.ts";
import { makeEvent } from "../helpers/fakes.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { tempDirs } from "../cli/queue-run.ts";

const events = (n: number, prefix: string, from = 0): QueuedEvent[] =>
  Array.from({ length: n }, (_, i) =>
    makeEvent({ id: `${prefix}-${String(from + i).padStart(3, "0")}`, entityId: `${prefix}-w${i % 5}`, timestamp: 1_700_000_000_000 + (from + i) * 1000 }),
  );

function contextFor(store: string): CommandContext {
  const env = { MUDSYNC_STORE: store };
  return { cwd: process.cwd(), env, config: resolveConfig({ cwd: process.cwd(), env, flags: { store } }), json: false, tty: false };
}

/** Every page of the source under the default filter, following `next`. */
async function allPages(source: TopSource, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let after: string | undefined;
  do {
    const s = await source.snapshot({ filter: DEFAULT_FILTER, limit, ...(after !== undefined ? { after } : {}) });
    pages.push(s.page.events.map((e) => e.id));
    expect(s.page.after).toBe(after ?? null);
    after = s.page.next ?? undefined;
  } while (after !== undefined && pages.length < 20);
  return pages;
}

describe("top over a store read directly", () => {
  const dirs = tempDirs();
  let store: string;
  let source: TopSource;

  beforeAll(async () => {
    store = path.join(dirs.make("mudsync-top-src-"), "store");
    const w = await openDexieStore({ dir: store, mode: "write", command: "test" });
    await w.enqueue(events(7, "a"));
    await w.update([{ id: "a-001", changes: { status: "failed", lastError: "boom", attempts: 2 }, note: "test failure" }]);
    await w.close();
    source = await openTopSource({}, contextFor(store));
  });
  afterAll(async () => {
    await source.close();
    dirs.cleanup();
  });

  it("reads counts, the oldest pending and pages by cursor, read-only", async () => {
    expect(source.kind).toBe("store");
    expect(source.readOnly).toMatch(/read directly, read-only/);
    const s = await source.snapshot({ filter: DEFAULT_FILTER, limit: 3 });
    expect(s.counts).toEqual({ pending: 6, processing: 0, completed: 0, failed: 1, dead: 0 });
    expect(s.oldestPending?.id).toBe("a-000");
    expect(s.daemon).toBeNull();
    expect(await allPages(source, 3)).toEqual([
      ["a-000", "a-001", "a-002"],
      ["a-003", "a-004", "a-005"],
      ["a-006"],
    ]);
    const failed = await source.snapshot({ filter: { statuses: ["failed"], order: "asc" }, limit: 10 });
    expect(failed.page.events.map((e) => e.id)).toEqual(["a-001"]);
  });

  it("shows one event with its history; an unknown id is an error naming it", async () => {
    const d = await source.event("a-001");
    expect(d.event).toMatchObject({ status: "failed", lastError: "boom", attempts: 2 });
    expect(d.history.map((h) => h.note)).toContain("test failure");
    await expect(source.event("nope")).rejects.toThrow("no event with id nope in the store");
  });

  it("refuses the keys that write, saying why", async () => {
    expect(await source.act({ kind: "drain" })).toMatch(/^unavailable: the store is read directly/);
  });

  it("sees what another process wrote at the next refresh; concurrent reads agree", async () => {
    const w = await openDexieStore({ dir: store, mode: "write", command: "test" });
    await w.enqueue(events(2, "a", 7));
    await w.close();
    const [x, y] = await Promise.all([source.snapshot({ filter: DEFAULT_FILTER, limit: 50 }), source.snapshot({ filter: DEFAULT_FILTER, limit: 50 })]);
    expect(x.counts.pending).toBe(8);
    expect(y.counts).toEqual(x.counts);
    expect(y.page.events.map((e) => e.id)).toEqual(x.page.events.map((e) => e.id));
  });

  it("runs the doctor over the same store", async () => {
    const f = await source.diagnose!();
    expect(f.error).toBeUndefined();
    expect(Array.isArray(f.findings)).toBe(true);
    expect(f.findings.every((x) => typeof x.fix === "string" && x.title.length > 0)).toBe(true);
  });
});

describe.runIf(await realPgAvailable())("top over the shared Postgres queue", () => {
  let db: TestDatabase;
  let source: TopSource;

  beforeAll(async () => {
    db = await createTestDatabase("mudsync_top_src");
    const q = await openPostgresQueueStore({ url: db.url });
    await q.enqueue(events(5, "q"));
    await q.close();
    source = await openTopSource({ queue: db.url }, contextFor("unused-store"));
  });
  afterAll(async () => {
    await source?.close();
    await db?.drop();
  });

  it("reads the queue read-only, one snapshot per refresh", async () => {
    expect(source.kind).toBe("queue");
    expect(source.readOnly).toMatch(/read-only/);
    const first = await source.snapshot({ filter: DEFAULT_FILTER, limit: 2 });
    expect(first.counts.pending).toBe(5);
    expect(first.page.events.map((e) => e.id)).toEqual(["q-000", "q-001"]);
    const q = await openPostgresQueueStore({ url: db.url });
    await q.enqueue(events(1, "q", 5));
    await q.close();
    const next = await source.snapshot({ filter: DEFAULT_FILTER, limit: 2 });
    expect(next.counts.pending).toBe(6);
    expect(await source.act({ kind: "retry-failed" })).toMatch(/^unavailable: the shared queue is read without a daemon/);
  });
});
