/**
 * Baseline task: plain Dexie 4 on in-memory fake-indexeddb with the browser app's schema, no
 * durability. Every store figure is shown next to these, measured in the same run.
 */
import { Dexie, type Table } from "dexie";
import { IDBKeyRange, indexedDB } from "fake-indexeddb";
import { pendingEvents } from "../lib/events.ts";
import type { QueuedEvent } from "../lib/event-types.ts";
import { EVENTS_SCHEMA } from "../lib/dexie-export-file.ts";
import { median, now, percentile, perSecond } from "../lib/stats.ts";
import { runTaskMain } from "../lib/task-io.ts";

export interface RawDexieParams {
  /** events loaded with bulkAdd (the "store size" of the baseline) */
  size: number;
  /** awaited single adds for the latency figures */
  adds: number;
  /** concurrent callers for the concurrent add figure */
  callers: number;
  /** store size for the slow anyOf().modify() measurement (0 = skip) */
  modifySize: number;
}

export interface RawDexieResult {
  addP50Ms: number;
  addP99Ms: number;
  addPerSec: number;
  concurrentAddPerSec: number;
  bulkAddMs: number;
  bulkAddPerSec: number;
  rssAfterLoadMb: number;
  heapAfterLoadMb: number;
  page500Ms: number;
  bulkUpdate500Ms: number;
  anyOfModify500Ms: number | null;
  modifySize: number;
}

class QueueDb extends Dexie {
  events!: Table<QueuedEvent, string>;
  constructor(name: string) {
    super(name, { indexedDB, IDBKeyRange });
    this.version(1).stores({ events: EVENTS_SCHEMA });
  }
}

async function freshDb(name: string): Promise<QueueDb> {
  const db = new QueueDb(name);
  await db.open();
  return db;
}

async function loaded(name: string, count: number, seed: number): Promise<{ db: QueueDb; ms: number }> {
  const db = await freshDb(name);
  const events = pendingEvents(count, seed);
  const t0 = now();
  for (let i = 0; i < events.length; i += 10_000) await db.events.bulkAdd(events.slice(i, i + 10_000));
  return { db, ms: now() - t0 };
}

/** 500 pending ids from the [status+timestamp] index, the way a drain step reads a batch. */
async function pendingPage(db: QueueDb, offset = 0): Promise<string[]> {
  return (await db.events
    .where("[status+timestamp]")
    .between(["pending", Dexie.minKey], ["pending", Dexie.maxKey])
    .offset(offset)
    .limit(500)
    .primaryKeys()) as string[];
}

async function main(p: RawDexieParams): Promise<RawDexieResult> {
  // awaited single adds
  const small = await freshDb("raw-adds");
  const addEvents = pendingEvents(p.adds, 11);
  const lat: number[] = [];
  const t0 = now();
  for (const e of addEvents) {
    const s = now();
    await small.events.add(e);
    lat.push(now() - s);
  }
  const addMs = now() - t0;
  // concurrent callers, each awaiting its own adds
  const conc = pendingEvents(p.adds, 12);
  const t1 = now();
  let next = 0;
  await Promise.all(
    Array.from({ length: p.callers }, async () => {
      while (next < conc.length) await small.events.add(conc[next++]!);
    }),
  );
  const concMs = now() - t1;
  small.close();

  // bulk load, page read, bulkUpdate
  const { db, ms: bulkAddMs } = await loaded("raw-load", p.size, 13);
  const mem = process.memoryUsage();
  const pageTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const s = now();
    await db.events
      .where("[status+timestamp]")
      .between(["pending", Dexie.minKey], ["pending", Dexie.maxKey])
      .limit(500)
      .toArray();
    pageTimes.push(now() - s);
  }
  const updTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const ids = await pendingPage(db, i * 500);
    const s = now();
    await db.events.bulkUpdate(ids.map((key) => ({ key, changes: { status: "processing", leaseUntil: Date.now() + 30_000 } })));
    updTimes.push(now() - s);
  }

  // the seed's way of marking a batch: anyOf(ids).modify() — a quadratic cursor walk
  let anyOfModify500Ms: number | null = null;
  if (p.modifySize > 0) {
    let target = db;
    if (p.modifySize !== p.size) {
      db.close();
      target = (await loaded("raw-modify", p.modifySize, 14)).db;
    }
    const ids = await pendingPage(target, 2500);
    const s = now();
    await target.events.where("id").anyOf(ids).modify({ status: "completed" });
    anyOfModify500Ms = now() - s;
    target.close();
  }
  db.close();
  return {
    addP50Ms: percentile(lat, 50),
    addP99Ms: percentile(lat, 99),
    addPerSec: perSecond(p.adds, addMs),
    concurrentAddPerSec: perSecond(p.adds, concMs),
    bulkAddMs,
    bulkAddPerSec: perSecond(p.size, bulkAddMs),
    rssAfterLoadMb: mem.rss / 2 ** 20,
    heapAfterLoadMb: mem.heapUsed / 2 ** 20,
    page500Ms: median(pageTimes),
    bulkUpdate500Ms: median(updTimes),
    anyOfModify500Ms,
    modifySize: p.modifySize,
  };
}

runTaskMain(main);
