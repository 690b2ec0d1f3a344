/**
 * Two daemons (`mudsync daemon --queue URL --db URL`, child processes) drain one shared Postgres
 * queue of 20k events over a few hundred rows edited by three clients: every event is completed
 * exactly once, `mudsync.applied_events` holds each event once with no duplicate outcome, both
 * daemons did part of the work, each row ends as applying its events one by one in row order
 * gives, and SIGTERM stops both with exit 0.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { compareRowOrder, rowKey, type QueuedEvent } from "../../src/core/event.ts";
import path from "node:path";
import { run, tempDirs } from "../cli/queue-run.ts";
import { startDaemon, type ChildDaemon } from "../helpers/daemon-process.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { prng } from "../../src/sim/seeded-random.ts";

const EVENTS = 20_000;
const ROWS = 300;
const CLIENTS = 3;
const CHUNK = 1000;
const T0 = 1_700_000_000_000;


interface Status {
  owner: string;
  counts: { pending: number; processing: number; completed: number; failed: number; dead: number };
  engine: { settled: number; applied: number; duplicates: number; dead: number; lostLeases: number };
}


/** Updates of wells and curves by three clients; timestamps jitter so row order is not time order. */
function makeEvents(): QueuedEvent[] {
  const rand = prng(42);
  const seq = new Map<string, number>();
  return Array.from({ length: EVENTS }, (_, i) => {
    const clientId = `c${Math.floor(rand() * CLIENTS)}`;
    const s = (seq.get(clientId) ?? 0) + 1;
    seq.set(clientId, s);
    const row = Math.floor(rand() * ROWS);
    return {
      id: `tw-${String(i).padStart(6, "0")}`,
      type: "update",
      entity: row % 3 === 0 ? "curve" : "well",
      entityId: `r-${row}`,
      payload: { n: i, last: clientId, [clientId]: s },
      timestamp: T0 + i * 5 + Math.floor(rand() * 300),
      status: "pending",
      retryCount: 0,
      clientId,
      seq: s,
    };
  });
}

/** Each row's document after applying its events one by one in row order. */
function expectedDocs(events: QueuedEvent[]): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const e of [...events].sort(compareRowOrder)) {
    out.set(rowKey(e), { ...(out.get(rowKey(e)) ?? {}), ...e.payload });
  }
  return out;
}


async function post(d: ChildDaemon, route: string, body?: unknown): Promise<unknown> {
  const url = `${d.url}${route}`;
  const res = await d.fetch(url, {
    method: "POST",
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  if (res.status !== 200) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function status(d: ChildDaemon): Promise<Status> {
  return (await (await d.fetch(`${d.url}/v1/status`)).json()) as Status;
}

describe.runIf(await realPgAvailable())("two daemons on one Postgres queue", () => {
  let db: TestDatabase;
  const daemons: ChildDaemon[] = [];
  const dirs = tempDirs();
  // both daemons share one token file, outside the current directory
  const tokenFile = path.join(dirs.make("mudsync-two-daemons-"), "control-token");

  beforeAll(async () => {
    db = await createTestDatabase("mudsync_two_daemons");
    const migrated = await run(["db", "migrate", "--db", db.url]);
    if (migrated.code !== 0) throw new Error(`db migrate failed: ${migrated.stderr}`);
  });
  afterAll(async () => {
    for (const d of daemons) {
      if (d.child.exitCode === null && d.child.signalCode === null) {
        d.child.kill("SIGKILL");
        await d.exited;
      }
    }
    await db?.drop();
    dirs.cleanup();
  });

  it("drain 20k events: each applied once, both daemons work, rows end in row order, SIGTERM exits 0", async () => {
    const events = makeEvents();
    daemons.push(...(await Promise.all([startDaemon(["--queue", db.url, "--db", db.url, "--token-file", tokenFile]), startDaemon(["--queue", db.url, "--db", db.url, "--token-file", tokenFile])])));
    const [a, b] = daemons as [ChildDaemon, ChildDaemon];

    // held back until every event is queued, so each row's whole history is there before any claim
    for (const d of daemons) expect(await post(d, "/v1/pause")).toEqual({ paused: true });
    for (let i = 0, k = 0; i < EVENTS; i += CHUNK, k++) {
      const r = (await post(daemons[k % 2]!, "/v1/events", { events: events.slice(i, i + CHUNK) })) as { existing: string[] };
      expect(r.existing).toEqual([]);
    }
    expect((await status(a)).counts.pending).toBe(EVENTS);
    await Promise.all(daemons.map((d) => post(d, "/v1/resume")));

    let last: Status[] = [];
    for (;;) {
      last = await Promise.all(daemons.map(status));
      const c = last[0]!.counts;
      if (c.pending + c.processing + c.failed === 0 && last.reduce((n, s) => n + s.engine.settled, 0) >= EVENTS) break;
      for (const d of daemons) if (d.child.exitCode !== null) throw new Error(`daemon exited ${d.child.exitCode}: ${d.stderr()}`);
      await new Promise((r) => setTimeout(r, 250));
    }

    // the queue: every event completed, each completed exactly once
    expect(last[0]!.counts).toMatchObject({ completed: EVENTS, pending: 0, processing: 0, failed: 0, dead: 0 });
    for (const s of last) {
      expect(s.engine.applied).toBeGreaterThan(0);
      expect(s.engine).toMatchObject({ duplicates: 0, dead: 0, lostLeases: 0 });
    }
    expect(last[0]!.owner).not.toBe(last[1]!.owner);
    expect(last.reduce((n, s) => n + s.engine.applied, 0)).toBe(EVENTS);
    expect(last.reduce((n, s) => n + s.engine.settled, 0)).toBe(EVENTS);

    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const completions = await c.query<{ n: string; distinct_ids: string }>(
        `select count(*) as n, count(distinct e.id) as distinct_ids
         from mudsync_queue.events e, regexp_split_to_table(rtrim(e.history, E'\\n'), E'\\n') l where l::jsonb->>'to' = 'completed'`,
      );
      expect(completions.rows[0]).toEqual({ n: String(EVENTS), distinct_ids: String(EVENTS) });

      // the server: each event id recorded once, as applied (no duplicate on the first pass)
      const applied = await c.query<{ outcome: string; n: string }>(
        `select outcome, count(*) as n from mudsync.applied_events group by outcome`,
      );
      expect(applied.rows).toEqual([{ outcome: "applied", n: String(EVENTS) }]);
      const ids = await c.query<{ n: string }>(
        `select count(*) as n from mudsync.applied_events where event_id like 'tw-%'`,
      );
      expect(ids.rows[0]!.n).toBe(String(EVENTS));
      const dupDecisions = await c.query<{ n: string }>(`select count(*) as n from mudsync.audit_log where decision <> 'applied'`);
      expect(dupDecisions.rows[0]!.n).toBe("0");

      // each row as applying its events one by one in row order gives
      const rows = await c.query<{ entity: string; id: string; doc: Record<string, unknown> }>(
        `select 'well' as entity, id, doc from mudsync.wells union all select 'curve', id, doc from mudsync.curves`,
      );
      const actual = new Map(rows.rows.map((r) => [`${r.entity}:${r.id}`, r.doc]));
      const expected = expectedDocs(events);
      expect(actual.size).toBe(expected.size);
      for (const [key, doc] of expected) expect(actual.get(key), key).toEqual(doc);
    } finally {
      await c.end();
    }

    for (const d of daemons) d.child.kill("SIGTERM");
    expect(await Promise.all(daemons.map((d) => d.exited))).toEqual([0, 0]);
    for (const d of daemons) expect(d.stderr()).toContain('"event":"stopped"');
  }, 240_000);
});
