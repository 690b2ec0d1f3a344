/**
 * `mudsync doctor` end to end: the real browser export (fixtures/browser-export.json) diagnosed
 * without importing it, a local store, the shared Postgres queue (--queue) and the server (--db)
 * on a real PostgreSQL database made and dropped here, a healthy store (exit 0, no finding), and
 * bad input (exit 2, one line). The CLI runs in process; one run spawns the real binary.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueuedEvent } from "../../src/core/event.ts";
import type { EventChange } from "../../src/core/ports.ts";
import type { DoctorReport } from "../../src/doctor/types.ts";
import { RULES } from "../../src/doctor/rules/index.ts";
import { openDexieStore } from "../../src/stores/dexie/index.ts";
import { openPostgresQueueStore } from "../../src/stores/postgres/index.ts";
import { runInProcess } from "../helpers/cli-in-process.ts";
import { startDaemon } from "../helpers/daemon-process.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { errorLines, fixture, run, tempDirs } from "./queue-run.ts";

const temp = tempDirs();
afterAll(() => temp.cleanup());

const T0 = Date.now() - 3_600_000;

function event(n: number, fields: Partial<QueuedEvent> = {}): QueuedEvent {
  return {
    id: `dr-${String(n).padStart(3, "0")}`,
    type: "update",
    entity: "well",
    entityId: `w-${n}`,
    payload: { name: `well ${n}` },
    timestamp: T0 + n * 1000,
    status: "pending",
    retryCount: 0,
    ...fields,
  };
}

async function makeStore(events: QueuedEvent[], changes: EventChange[] = []): Promise<string> {
  const dir = path.join(temp.make(), "store");
  const store = await openDexieStore({ dir, mode: "write", command: "test" });
  try {
    await store.enqueue(events);
    if (changes.length) await store.update(changes);
  } finally {
    await store.close();
  }
  return dir;
}

function report(stdout: string): DoctorReport {
  return JSON.parse(stdout) as DoctorReport;
}

describe("doctor on the real browser export (--file)", () => {
  const file = fixture("browser-export.json");
  const expected = JSON.parse(readFileSync(fixture("browser-export.expected.json"), "utf8")) as {
    counts: { total: number; byStatus: Record<string, number>; byEntity: Record<string, number> };
    unknownEntityEventIds: string[];
  };
  let r: DoctorReport;
  let stderr: string;

  beforeAll(async () => {
    const out = await runInProcess(["doctor", "--file", file, "--json"]);
    expect(out.code, out.stderr).toBe(7);
    r = report(out.stdout);
    stderr = out.stderr;
  });

  it("reads every event and names the file", () => {
    expect(r.source).toBe(file);
    expect(r.events).toBe(expected.counts.total);
    expect(r.healthy).toBe(false);
  });

  it("finds the batch a crashed tab left in processing, the failed events never retried, and the unknown entity", () => {
    const by = (kind: string) => r.findings.filter((f) => f.kind === kind);
    const stuck = by("stuck-processing")[0]!;
    expect(stuck.eventIds.length + stuck.moreEvents).toBe(expected.counts.byStatus.processing);
    expect(stuck.fix).toBe(`mudsync queue import ${file} && mudsync queue replay --status processing`);
    const failed = by("failed-never-retried")[0]!;
    expect(failed.eventIds.length + failed.moreEvents).toBe(expected.counts.byStatus.failed);
    const unknown = by("unknown-entity");
    expect(unknown.map((f) => f.title)).toEqual([`${expected.counts.byEntity.annotation} events of unknown entity "annotation"`]);
    for (const id of unknown[0]!.eventIds) expect(expected.unknownEntityEventIds).toContain(id);
    // the 300 kB curve add
    expect(by("large-payload")).toMatchObject([{ severity: "info", moreEvents: 0 }]);
    expect(by("add-remove-reorder")).toHaveLength(1);
    expect(by("duplicate-id")).toEqual([]);
    expect(by("invalid-event")).toEqual([]);
  });

  it("orders findings most severe first", () => {
    const rank = { error: 0, warning: 1, info: 2 };
    const ranks = r.findings.map((f) => rank[f.severity]);
    expect(ranks).toEqual([...ranks].sort());
    expect(r.findings[0]!.severity).toBe("error");
  });

  it("reports progress as NDJSON on stderr with --json", () => {
    const lines = stderr.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatchObject({ progress: true, phase: "doctor", unit: "bytes", final: true });
    expect(lines.at(-1)!.done).toBe(lines.at(-1)!.total);
  });

  it("renders each finding for people: severity, title, evidence, capped ids, fix", async () => {
    const out = await runInProcess(["doctor", "--file", file]);
    expect(out.code).toBe(7);
    expect(out.stdout).toMatch(/^ERROR 8 events stuck in processing {2}\[stuck-processing\]$/m);
    expect(out.stdout).toMatch(/events: .* \+28 more$/m);
    expect(out.stdout).toContain(`fix: psql "$DATABASE_URL" -c "select mudsync.register_entity('annotation', 'annotation', 'document')"`);
    expect(out.stdout.trimEnd().split("\n").at(-1)).toBe("needs action (exit 7)");
  });
});

describe("doctor on a local store", () => {
  it("finds events stuck in processing and names the store in the fix (real binary)", async () => {
    const dir = await makeStore([event(1), event(2), event(3)], [{ id: "dr-002", changes: { status: "processing" } }]);
    const out = await run(["doctor", "--store", dir, "--json"]);
    expect(out.code, out.stderr).toBe(7);
    const r = report(out.stdout);
    expect(r).toMatchObject({ source: dir, events: 3, healthy: false });
    expect(r.findings.map((f) => [f.kind, f.eventIds, f.fix])).toEqual([
      ["stuck-processing", ["dr-002"], `mudsync --store ${dir} queue replay --status processing`],
    ]);
  });

  it("a healthy store: no finding, exit 0", async () => {
    const dir = await makeStore([event(1), event(2, { status: "completed" })]);
    const json = await runInProcess(["doctor", "--store", dir, "--json"]);
    expect(json.code, json.stderr).toBe(0);
    expect(report(json.stdout)).toEqual({ source: dir, events: 2, findings: [], healthy: true });
    const text = await runInProcess(["doctor", "--store", dir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${dir}: 2 events, no findings`);
    expect(text.stdout.trimEnd().endsWith("healthy")).toBe(true);
  });

  it("info findings alone keep exit 0", async () => {
    const dir = await makeStore([event(1, { payload: { blob: "x".repeat(300_000) } })]);
    const out = await runInProcess(["doctor", "--store", dir, "--json"]);
    expect(out.code, out.stderr).toBe(0);
    expect(report(out.stdout)).toMatchObject({ healthy: true, findings: [{ kind: "large-payload", severity: "info" }] });
  });
});

describe("doctor: bad input", () => {
  it("a file that is not an export is exit 2, one line naming it", async () => {
    const out = await runInProcess(["doctor", "--file", fixture("malformed/not-json.json")]);
    expect(out.code).toBe(2);
    expect(errorLines(out.stderr)).toHaveLength(1);
    expect(out.stderr).toContain("malformed/not-json.json");
    expect(out.stdout).toBe("");
  });

  it("a store that does not exist, or --file with --queue, is exit 2, one line", async () => {
    const missing = await runInProcess(["doctor", "--store", path.join(temp.make(), "nope")]);
    expect(missing.code).toBe(2);
    expect(errorLines(missing.stderr)).toEqual([expect.stringContaining("does not exist")]);
    const both = await runInProcess(["doctor", "--file", "a.json", "--queue", "postgres://x/y"]);
    expect(both.code).toBe(2);
    expect(errorLines(both.stderr)).toEqual([expect.stringContaining("either --file or --queue")]);
  });

  it("--help lists every finding kind and exit 7", async () => {
    const out = await runInProcess(["doctor", "--help"]);
    expect(out.code).toBe(0);
    for (const rule of RULES) expect(out.stdout).toMatch(new RegExp(`^  ${rule.kind} +\\(${rule.severity}\\)`, "m"));
    expect(out.stdout).toContain("7 a finding needs action");
  });
});

describe.runIf(await realPgAvailable())("doctor on real PostgreSQL", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("mudsync_cli_doctor");
    const migrated = await runInProcess(["--db", db.url, "db", "migrate"]);
    expect(migrated.code, migrated.stderr).toBe(0);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("--queue: diagnoses the shared queue read-only", async () => {
    const store = await openPostgresQueueStore({ url: db.url });
    try {
      await store.enqueue([event(1), event(2), event(3, { entity: "annotation" })]);
      await store.update([{ id: "dr-001", changes: { status: "processing", leaseUntil: Date.now() - 60_000, leaseOwner: "gone" } }]);
    } finally {
      await store.close();
    }
    const out = await runInProcess(["doctor", "--queue", db.url, "--json"]);
    expect(out.code, out.stderr).toBe(7);
    const r = report(out.stdout);
    expect(r.events).toBe(3);
    expect(r.findings.map((f) => [f.kind, f.eventIds])).toEqual([
      ["stuck-processing", ["dr-001"]],
      ["unknown-entity", ["dr-003"]],
    ]);
    expect(r.findings[0]!.fix).toBe(`mudsync daemon --queue ${db.url} --once`);
  });

  it("--db: events the server applied but not completed here, and edits against an older row version", async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      // w-1 ends at version 3; srv-2 is the event the local store still holds as pending
      const wire = [
        { id: "srv-1", type: "add", entity: "well", entityId: "w-1", payload: { name: "a" }, timestamp: T0 },
        { id: "srv-2", type: "update", entity: "well", entityId: "w-1", payload: { name: "b" }, timestamp: T0 + 1 },
        { id: "srv-3", type: "update", entity: "well", entityId: "w-1", payload: { name: "c" }, timestamp: T0 + 2 },
      ];
      for (const e of wire) await c.query("select mudsync.apply_batch($1::jsonb)", [JSON.stringify([e])]);
      const v = await c.query<{ version: string }>("select version from mudsync.wells where id = 'w-1'");
      expect(Number(v.rows[0]!.version)).toBe(3);
    } finally {
      await c.end();
    }
    const dir = await makeStore([
      event(1, { id: "srv-2", entityId: "w-1", timestamp: T0 + 1 }),
      event(2, { entityId: "w-1", baseVersion: 1, timestamp: T0 + 10_000 }),
      event(3, { entityId: "w-1", baseVersion: 3, timestamp: T0 + 20_000 }),
    ]);
    const out = await runInProcess(["doctor", "--store", dir, "--db", db.url, "--json"]);
    expect(out.code, out.stderr).toBe(7);
    const r = report(out.stdout);
    expect(r.findings.map((f) => [f.kind, f.eventIds])).toEqual([
      ["applied-not-completed", ["srv-2"]],
      ["stale-base-version", ["dr-002"]],
    ]);
    expect(r.findings[0]!.fix).toBe(`mudsync --store ${dir} --db ${db.url} queue replay --ids srv-2`);
    // the server's registry decides what is unknown: annotation is not registered there either
    const healthy = await makeStore([event(4, { entityId: "w-1", baseVersion: 3 })]);
    const ok = await runInProcess(["doctor", "--store", healthy, "--db", db.url, "--json"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(report(ok.stdout).findings).toEqual([]);
  });

  it("stuck-head: reads the head's age from the daemon that holds the store", async () => {
    // a failed event due in an hour is the head, and no pass moves it
    const dir = await makeStore([event(1), event(2)], [
      { id: "dr-001", changes: { status: "failed", retryCount: 4, attempts: 4, nextAttemptAt: Date.now() + 3_600_000, lastError: "timeout" } },
    ]);
    const config = path.join(temp.make(), "mudsync.config.json");
    writeFileSync(config, JSON.stringify({ stuckAfterMs: 1000 }));
    const daemon = await startDaemon(["--store", dir, "--db", db.url, "--config", config]);
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const out = await run(["doctor", "--store", dir, "--config", config, "--json"]);
      expect(out.code, out.stderr).toBe(7);
      const head = report(out.stdout).findings.find((f) => f.kind === "stuck-head");
      expect(head).toMatchObject({ eventIds: ["dr-001"], fix: `mudsync --store ${dir} queue replay --ids dr-001` });
      expect(head!.evidence).toContain(daemon.url);
    } finally {
      daemon.child.kill("SIGTERM");
      await daemon.exited;
    }
  });

  it("--db on a database without mudsync's schema is exit 2, one line", async () => {
    const bare = await createTestDatabase("mudsync_cli_doctor_bare");
    try {
      const dir = await makeStore([event(1)]);
      const out = await runInProcess(["doctor", "--store", dir, "--db", bare.url]);
      expect(out.code).toBe(2);
      expect(errorLines(out.stderr)).toEqual([expect.stringContaining("db migrate")]);
    } finally {
      await bare.drop();
    }
  });
});
