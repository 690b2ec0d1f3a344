/**
 * Every command that talks to a server, run against one that cannot be reached: exit 5 and one
 * line on stderr, never "unexpected error" with a stack. The commands are read from the commander
 * program itself, so a command added later is covered without touching this file: it is run
 * against the closed port unless it is listed below as never contacting a server.
 */
import { cpSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../../src/cli.ts";
import { errorLines, fixture, run, tempDirs } from "./queue-run.ts";

/** nothing listens on port 1: every connection is refused */
const CLOSED_PORT = "postgres://postgres@127.0.0.1:1/nowhere";
/** the .invalid top-level domain never resolves */
const UNKNOWN_HOST = "postgres://postgres@no-such-host.invalid/nowhere";

/** Commands that work on the local store or embedded database only; --db does not reach them. */
const LOCAL_ONLY: Record<string, string> = {
  "queue import": "writes the local store",
  "queue export": "reads the local store",
  "queue ls": "reads the local store",
  "queue show": "reads the local store",
  "queue stats": "reads the local store",
  "queue enqueue": "writes the local store",
  demo: "always runs on a temporary embedded PGlite",
  "sim run": "runs on the server --sink names (its own schema), never on --db",
  "sim ls": "lists scenario files",
  "sim check": "reads a history file",
  "store encrypt": "rewrites the local store",
  "store rotate-key": "rewrites the local store",
  top: "watches a store, a daemon or the shared queue (--queue); --db is not read",
};

/** Flags a command needs to finish on its own (a daemon otherwise keeps retrying forever). */
const EXTRA: Record<string, string[]> = {
  daemon: ["--once", "--log-level", "error"],
};

interface Leaf {
  name: string;
  cmd: Command;
}

function leaves(cmd: Command, prefix: string[] = []): Leaf[] {
  return cmd.commands.flatMap((c) => {
    const p = [...prefix, c.name()];
    return c.commands.length ? leaves(c, p) : [{ name: p.join(" "), cmd: c }];
  });
}

/** A sample value for every required argument and mandatory option, by name. */
function sampleArgs(leaf: Leaf, outDir: string): string[] {
  const args = leaf.cmd.registeredArguments
    .filter((a) => a.required)
    .flatMap((a) => {
      switch (a.name()) {
        case "files":
          return [fixture("sample-export.json")];
        case "file":
          return [path.join(outDir, "out.json")];
        case "id":
          return ["1"];
        case "entity":
          return ["well"];
        default:
          throw new Error(`${leaf.name}: add a sample value for argument <${a.name()}> to this test`);
      }
    });
  const options = leaf.cmd.options
    .filter((o) => o.mandatory)
    .flatMap((o) => {
      const value = o.argChoices?.[0];
      if (value === undefined) throw new Error(`${leaf.name}: add a sample value for ${o.long} to this test`);
      return [o.long as string, value];
    });
  return [...args, ...options];
}

const ENV = { DATABASE_URL: "", MUDSYNC_DB: "", SUPABASE_URL: "" };
const dirs = tempDirs();
let seeded = "";

beforeAll(async () => {
  seeded = path.join(dirs.make(), "store");
  const r = await run(["queue", "import", fixture("sample-export.json"), "--store", seeded], { env: ENV });
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => dirs.cleanup());

/** A copy of the seeded store (pending, failed and completed events), so every command has work. */
function freshStore(): string {
  const dir = path.join(dirs.make(), "store");
  cpSync(seeded, dir, { recursive: true });
  return dir;
}

async function expectOneLineExit5(args: string[]): Promise<void> {
  const r = await run(args, { env: ENV });
  const lines = errorLines(r.stderr);
  expect({ code: r.code, lines }, `mudsync ${args.join(" ")}`).toEqual({ code: 5, lines: [expect.stringMatching(/^mudsync: /)] });
  expect(r.stderr).not.toContain("unexpected error");
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

const all = leaves(buildProgram());

describe("the command list", () => {
  it("names only commands that exist", () => {
    const names = new Set(all.map((l) => l.name));
    expect(Object.keys(LOCAL_ONLY).filter((n) => !names.has(n))).toEqual([]);
    expect(Object.keys(EXTRA).filter((n) => !names.has(n))).toEqual([]);
  });
});

for (const flag of ["--db", "--queue"] as const) {
  // every command that reaches a server through the flag: --db is taken by all but the local-only ones
  const leaves = flag === "--db" ? all.filter((l) => !(l.name in LOCAL_ONLY)) : all.filter((l) => l.cmd.options.some((o) => o.long === flag));
  describe(`every command that takes ${flag}, against a closed port`, () => {
    for (const leaf of leaves) {
      it(`${leaf.name}${flag === "--db" ? "" : ` ${flag}`}: exit 5, one stderr line`, async () => {
        const store = freshStore();
        await expectOneLineExit5([
          ...leaf.name.split(" "),
          ...sampleArgs(leaf, path.dirname(store)),
          ...(EXTRA[leaf.name] ?? []),
          "--store",
          store,
          flag,
          CLOSED_PORT,
        ]);
      });
    }
  });
}

describe("a server name that does not resolve", () => {
  for (const sub of ["status", "migrate"]) {
    it(`db ${sub}: exit 5, one stderr line naming the host`, async () => {
      const store = freshStore();
      const r = await run(["db", sub, "--store", store, "--db", UNKNOWN_HOST], { env: ENV });
      expect(r.code, r.stderr).toBe(5);
      expect(errorLines(r.stderr)).toEqual([expect.stringContaining("no-such-host.invalid")]);
    });
  }
});
