/**
 * `queue enqueue` end to end: one event from flags, many from NDJSON on stdin with one ack per
 * event in input order, a bad line stopping the run (exit 2, its line number) while the events
 * acknowledged before it stay in the store.
 */
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { errorLines, run, tempDirs } from "./queue-run.ts";

const temp = tempDirs();
afterAll(() => temp.cleanup());

const line = (i: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id: `in-${String(i).padStart(3, "0")}`, type: "update", entity: "well", entityId: `w${i % 7}`, payload: { i }, ...extra });

describe("queue enqueue", () => {
  it("enqueues one event from flags, filling in id, timestamp, status and retryCount", async () => {
    const store = path.join(temp.make(), "store");
    const r = await run([
      "queue", "enqueue", "--type", "add", "--entity", "well", "--entity-id", "w-1", "--payload", '{"name":"Ölquelle"}',
      "--client-id", "cli-1", "--seq", "4", "--store", store, "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const ack = JSON.parse(r.stdout);
    expect(Object.keys(ack)).toEqual(["id"]);
    const shown = JSON.parse((await run(["queue", "show", ack.id, "--store", store, "--json"])).stdout);
    expect(shown.event).toMatchObject({
      id: ack.id, type: "add", entity: "well", entityId: "w-1", payload: { name: "Ölquelle" },
      status: "pending", retryCount: 0, clientId: "cli-1", seq: 4,
    });
    expect(typeof shown.event.timestamp).toBe("number");

    const human = await run(["queue", "enqueue", "--type", "add", "--entity", "well", "--entity-id", "w-2", "--id", "x-1", "--store", store]);
    expect(human.stdout.trim()).toBe("enqueued x-1");
    const dup = await run(["queue", "enqueue", "--type", "add", "--entity", "well", "--entity-id", "w-2", "--id", "x-1", "--store", store, "--json"]);
    expect(JSON.parse(dup.stdout)).toEqual({ id: "x-1", existing: true });
  });

  it("acks every NDJSON line in input order", async () => {
    const store = path.join(temp.make(), "store");
    const input = `${Array.from({ length: 600 }, (_, i) => line(i)).join("\n")}\n\n`;
    const r = await run(["queue", "enqueue", "-", "--store", store, "--json"], { input });
    expect(r.code, r.stderr).toBe(0);
    const acks = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(acks).toEqual(Array.from({ length: 600 }, (_, i) => ({ id: `in-${String(i).padStart(3, "0")}` })));
    const ls = JSON.parse((await run(["queue", "ls", "--store", store, "--json", "--limit", "1"])).stdout);
    expect(ls.counts.pending).toBe(600);
  });

  it("stops at a bad line with its number; the lines before it stay acknowledged", async () => {
    const store = path.join(temp.make(), "store");
    const input = [line(1), line(2), line(3), line(4, { type: "rename" }), line(5)].join("\n");
    const r = await run(["queue", "enqueue", "--stdin", "--store", store, "--json"], { input });
    expect(r.code).toBe(2);
    // --json: the error is one JSON object on stderr
    expect(errorLines(r.stderr).map((l) => JSON.parse(l))).toEqual([
      { error: expect.objectContaining({ exit: 2, message: expect.stringMatching(/^stdin line 4: type: .*expected an event \{id, type/) }) },
    ]);
    expect(r.stdout.trim().split("\n").map((l) => JSON.parse(l).id)).toEqual(["in-001", "in-002", "in-003"]);
    const ls = JSON.parse((await run(["queue", "ls", "--store", store, "--json", "--order", "oldest"])).stdout);
    expect(ls.events.map((e: { id: string }) => e.id).sort()).toEqual(["in-001", "in-002", "in-003"]);

    const notJson = await run(["queue", "enqueue", "-", "--store", store], { input: `${line(9)}\n{oops\n` });
    expect(notJson.code).toBe(2);
    expect(errorLines(notJson.stderr)).toEqual([expect.stringMatching(/^mudsync: stdin line 2: not valid JSON/)]);
  });

  it("names the missing flags", async () => {
    const store = path.join(temp.make(), "store");
    const r = await run(["queue", "enqueue", "--type", "add", "--store", store]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/needs --entity, --entity-id/)]);
    const bad = await run(["queue", "enqueue", "--type", "add", "--entity", "w", "--entity-id", "1", "--payload", "[1]", "--store", store]);
    expect(bad.code).toBe(2);
    expect(errorLines(bad.stderr)).toEqual([expect.stringMatching(/--payload expects a JSON object/)]);
  });
});
