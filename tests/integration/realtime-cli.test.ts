/**
 * `mudsync db changes` end to end: the real binary as a child process on a fresh database of the
 * real server (PGlite is private to one process, so the CLI follows a server), a batch applied
 * from this process, NDJSON on stdout, SIGINT ending it with exit 0. Also: without a server the
 * command says why and exits 2.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { migrate } from "../../src/sinks/sink-migrations.ts";
import type { SqlClient } from "../../src/postgres/sql-client.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { pgBackend } from "../servers/db-backend.ts";

const PG = await realPgAvailable();
const BIN = path.resolve(import.meta.dirname, "../../bin/mudsync.js");
const WAIT = { timeout: 20_000, interval: 25 };

interface Run {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(args: string[], cwd: string): Run {
  const env = { ...process.env };
  for (const k of ["DATABASE_URL", "MUDSYNC_DB", "SUPABASE_URL", "SUPABASE_KEY", "SUPABASE_ANON_KEY", "MUDSYNC_STORE"]) delete env[k];
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

const lines = (text: string) => text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

let cwd: string;
const children: ChildProcessWithoutNullStreams[] = [];
beforeAll(() => {
  cwd = mkdtempSync(path.join(tmpdir(), "mudsync-changes-"));
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  rmSync(cwd, { recursive: true, force: true });
});

test("without a server it explains why and exits 2", async () => {
  const r = run(["db", "changes", "--store", path.join(cwd, "store")], cwd);
  children.push(r.child);
  expect(await r.exited).toBe(2);
  expect(r.stderr()).toMatch(/^mudsync: db changes needs a server: the embedded PGlite is private/);
  expect(r.stdout()).toBe("");
});

describe.runIf(PG)("db changes on the real server", () => {
  let testDb: TestDatabase;
  let db: SqlClient;
  beforeAll(async () => {
    testDb = await createTestDatabase("mudsync_changes");
    db = pgBackend(testDb.url);
    await migrate(db, { schema: "mudsync" });
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  const applyAs = (sub: string, events: unknown[]) =>
    db.transaction(async (tx) => {
      await tx.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub })]);
      await tx.query("select mudsync.apply_batch($1::jsonb)", [JSON.stringify(events)]);
    });
  const ev = (id: string, entity: string, entityId: string, type: string, payload: object) =>
    ({ id, type, entity, entityId, payload, timestamp: 1_700_000_000_000 });

  test("--follow --json prints one NDJSON line per change and exits 0 on SIGINT", async () => {
    const r = run(["db", "changes", "--follow", "--json", "--db", testDb.url], cwd);
    children.push(r.child);
    await vi.waitFor(() => expect(r.stderr()).toContain('"listening"'), WAIT);
    expect(lines(r.stderr())[0]).toMatchObject({ progress: true, listening: expect.stringContaining("LISTEN mudsync_changes"), follow: true });

    await applyAs("dana", [ev("cli-1", "well", "w-cli", "add", { name: "cli" }), ev("cli-2", "chart_data_source", "c-cli", "add", { id: "s" })]);
    await applyAs("dana", [ev("cli-3", "well", "w-cli", "update", { name: "cli 2" })]);
    await vi.waitFor(() => expect(lines(r.stdout())).toHaveLength(3), WAIT);

    r.child.kill("SIGINT");
    expect(await r.exited).toBe(0);
    const out = lines(r.stdout());
    for (const line of out) expect(Number.isNaN(Date.parse(String(line.at)))).toBe(false);
    // the two rows of the first batch come in the function's write order; the update comes last
    expect(out.map(({ at: _at, ...c }) => c)).toEqual(
      expect.arrayContaining([
        { entity: "well", id: "w-cli", version: 1, op: "insert", changedBy: "dana" },
        { entity: "chart_data_source", id: "c-cli", version: 1, op: "insert", changedBy: "dana" },
        { entity: "well", id: "w-cli", version: 2, op: "update", changedBy: "dana" },
      ]),
    );
    expect(out.at(-1)).toMatchObject({ id: "w-cli", version: 2 });
  });

  test("--count ends the run after that many changes, printed for people without --json", async () => {
    const r = run(["db", "changes", "--follow", "--count", "1", "--db", testDb.url], cwd);
    children.push(r.child);
    await vi.waitFor(() => expect(r.stderr()).toMatch(/^listening: LISTEN mudsync_changes on 127\.0\.0\.1:5432\//), WAIT);
    await applyAs("erin", [ev("cli-4", "curve", "k-cli", "add", { v: 1 })]);
    expect(await r.exited).toBe(0);
    expect(r.stdout()).toMatch(/^\S+Z {2}insert {2}curve k-cli {2}v1 {2}by erin\n$/);
  });
});
