/**
 * With --json an error is one JSON object on stderr, {"error": {code, exit, message, …fields}},
 * with the same exit code as without it; stdout stays empty. Without --json it stays one line.
 */
import { describe, expect, it } from "vitest";
import { errorLines, fixture, run, sampleStore } from "./queue-run.ts";

const CLOSED_PORT = "postgres://postgres@127.0.0.1:1/nowhere";
const ENV = { DATABASE_URL: "", MUDSYNC_DB: "", SUPABASE_URL: "" };
const sample = sampleStore();

/** Runs the command and returns the one JSON object it wrote on stderr (besides progress lines). */
async function jsonError(args: string[], exit: number): Promise<Record<string, unknown>> {
  const r = await run(args, { env: ENV });
  expect(r.code, r.stderr).toBe(exit);
  expect(r.stdout).toBe("");
  const lines = errorLines(r.stderr);
  expect(lines, r.stderr).toHaveLength(1);
  const parsed = JSON.parse(lines[0]!) as { error: Record<string, unknown> };
  expect(Object.keys(parsed)).toEqual(["error"]);
  expect(parsed.error).toMatchObject({ exit, message: expect.any(String) });
  return parsed.error;
}

describe("--json errors", () => {
  it("a bad export file names the file, the JSON path and what was expected", async () => {
    const file = fixture("malformed/bad-row.json");
    const error = await jsonError(["queue", "import", file, "--store", `${sample.dir}-unused`, "--json"], 2);
    expect(error).toMatchObject({
      code: "invalid-dump",
      file,
      where: "data.data[0].rows[3].status",
      expected: expect.stringContaining("expected an event"),
    });
    expect(error.message).toContain(file);
  });

  it("an unreachable server is exit 5 with the connection error's code", async () => {
    const error = await jsonError(["--json", "db", "status", "--store", sample.dir, "--db", CLOSED_PORT], 5);
    expect(error).toMatchObject({ code: "sink-unreachable", causeCode: "ECONNREFUSED", retryable: true });
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("an unknown event id carries the id", async () => {
    const error = await jsonError(["queue", "show", "no-such-event", "--store", sample.dir, "--json"], 2);
    expect(error).toMatchObject({ code: "event-not-found", eventId: "no-such-event" });
  });

  it("usage errors found by the flag parser are the JSON object only, without commander's text", async () => {
    const limit = await jsonError(["--json", "queue", "ls", "--store", sample.dir, "--limit", "0"], 2);
    expect(limit).toMatchObject({ code: "usage", message: expect.stringContaining("--limit must be an integer >= 1") });
    const unknown = await jsonError(["--json", "queue", "ls", "--bogus"], 2);
    expect(unknown).toMatchObject({ code: "usage", message: "unknown option '--bogus'" });
    const missing = await jsonError(["--json", "queue"], 2);
    expect(missing).toMatchObject({ code: "usage", message: expect.stringContaining("subcommand is required") });
  });

  it("without --json the same errors stay one line of text", async () => {
    const r = await run(["queue", "show", "no-such-event", "--store", sample.dir], { env: ENV });
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual(["mudsync: no event with id no-such-event in the store"]);
    const usage = await run(["queue", "ls", "--bogus"], { env: ENV });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toBe("error: unknown option '--bogus'\n(run with --help for usage)\n");
  });
});
