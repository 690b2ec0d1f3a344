/**
 * `queue ls` end to end: paging with cursors covers every event exactly once in both orders (from
 * the store and straight from an export with --file), filters, the JSON shape, the table for
 * people, and bad flag values. The sample store is imported by the real binary; `queue ls` runs
 * in process (a child start per page made this file slow).
 */
import { describe, expect, it } from "vitest";
import { runInProcess } from "../helpers/cli-in-process.ts";
import { errorLines, sampleStore } from "./queue-run.ts";

const sample = sampleStore();
const SAMPLE = sample.sample;

interface Page {
  counts: Record<string, number>;
  events: { id: string; timestamp: number; status: string; entity: string }[];
  next: string | null;
}

async function allPages(source: string[], extra: string[]): Promise<{ ids: string[]; pages: number; timestamps: number[] }> {
  const ids: string[] = [];
  const timestamps: number[] = [];
  let after: string | null = null;
  let pages = 0;
  do {
    const r = await runInProcess(["queue", "ls", ...source, "--json", ...extra, ...(after ? ["--after", after] : [])]);
    expect(r.code, r.stderr).toBe(0);
    const page = JSON.parse(r.stdout) as Page;
    expect(Object.keys(page).sort()).toEqual(["counts", "events", "next"]);
    ids.push(...page.events.map((e) => e.id));
    timestamps.push(...page.events.map((e) => e.timestamp));
    after = page.next;
    pages++;
    expect(pages).toBeLessThan(20);
  } while (after);
  return { ids, pages, timestamps };
}

const SOURCES: [string, () => string[]][] = [
  ["store", () => ["--store", sample.dir]],
  ["--file", () => ["--file", SAMPLE, "--store", sample.dir]],
];

describe.each(SOURCES)("queue ls from the %s", (_name, source) => {
  it("pages newest-first and oldest-first, covering all 37 events exactly once", async () => {
    const newest = await allPages(source(), ["--limit", "8"]);
    expect(newest.ids).toHaveLength(37);
    expect(new Set(newest.ids).size).toBe(37);
    expect(newest.pages).toBe(5);
    expect(newest.timestamps).toEqual([...newest.timestamps].sort((a, b) => b - a));
    const oldest = await allPages(source(), ["--limit", "10", "--order", "oldest"]);
    expect(oldest.ids).toEqual([...newest.ids].reverse());
  });

  it("filters by status, entity and since, with counts of the whole queue", async () => {
    const r = await runInProcess(["queue", "ls", ...source(), "--json", "--status", "failed,processing", "--entity", "polygon"]);
    const page = JSON.parse(r.stdout) as Page;
    expect(page.counts).toEqual({ pending: 22, processing: 3, completed: 9, failed: 3, dead: 0 });
    expect(page.events.map((e) => e.id)).toEqual(["evt-012", "evt-011", "evt-010"]);
    expect(page.next).toBeNull();
    const since = await runInProcess(["queue", "ls", ...source(), "--json", "--since", "2024-05-01T09:40:00Z", "--limit", "100"]);
    expect((JSON.parse(since.stdout) as Page).events).toHaveLength(22);
  });

  it("prints a table for people", async () => {
    const r = await runInProcess(["queue", "ls", ...source(), "--status", "failed"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/pending 22, processing 3, completed 9, failed 3$/);
    expect(lines[1]).toMatch(/^ID\s+STATUS\s+ROW\s+TYPE\s+AGE\s+RETRIES\s+LAST ERROR$/);
    expect(lines[2]).toMatch(/^evt-015\s+failed\s+well:well-1\s+update\s+\d+(\.\d)? y\s+5\s+timeout$/);
    expect(lines).toHaveLength(5);
  });
});

describe("queue ls flags", () => {
  it.each([
    [["--status", "stuck"], /--status expects one or more of pending,processing,completed,failed,dead.*got "stuck"/],
    [["--since", "yesterday"], /--since expects an ISO time .*got "yesterday"/],
    [["--limit", "0"], /--limit must be an integer >= 1, got "0"/],
    [["--order", "random"], /--order.*random/],
    [["--file", SAMPLE, "--after", "garbage"], /--after expects a cursor/],
  ])("%j is exit 2 with one line", async (flags, pattern) => {
    const r = await runInProcess(["queue", "ls", "--store", sample.dir, ...flags]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr).join("\n")).toMatch(pattern);
  });
});
