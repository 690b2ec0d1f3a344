/**
 * `mudsync sim` through the real binary: listing, a run with its history and JSON result, checking
 * that history again (and a tampered copy of it), and one clear line for each kind of bad input.
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, ROOT, errorLines, run, tempDirs } from "./queue-run.ts";

const temp = tempDirs();
afterAll(() => temp.cleanup());

describe("mudsync sim", () => {
  it("ls lists the shipped scenarios, the CI set marked", async () => {
    const r = await run(["sim", "ls", "--json"]);
    expect(r.code).toBe(0);
    const { scenarios } = JSON.parse(r.stdout) as { scenarios: { name: string; ci: boolean }[] };
    const names = scenarios.map((s) => s.name);
    for (const n of ["selection-race", "offline-50-merge", "offline-50-local-wins", "offline-50-remote-wins", "offline-50-manual", "poison-head", "duplicate-delivery", "clock-skew", "old-export", "load-1m"]) {
      expect(names).toContain(n);
    }
    expect(scenarios.find((s) => s.name === "load-1m")?.ci).toBe(false);
    const text = await run(["sim", "ls"]);
    expect(text.stdout).toMatch(/selection-race\s+ci\s+any\s+3\s+pass/);
  });

  it("run writes a history that check judges the same; a tampered history fails with exit 6", async () => {
    const dir = temp.make();
    const history = path.join(dir, "race.ndjson");
    const r = await run(["sim", "run", "selection-race", "--history", history, "--json"]);
    expect(errorLines(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { pass: boolean; runs: { scenario: string; verdict: { pass: boolean; invariants: { name: string; violations: number }[] } }[] };
    expect(result.pass).toBe(true);
    expect(result.runs[0]!.scenario).toBe("selection-race");
    // progress went to stderr as NDJSON
    expect(r.stderr).toContain('{"progress":true');

    const again = await run(["sim", "check", history, "--json"]);
    expect(again.code).toBe(0);
    const verdict = (JSON.parse(again.stdout) as { verdict: { invariants: unknown } }).verdict;
    expect(verdict.invariants).toEqual(result.runs[0]!.verdict.invariants);

    // the server "forgets" one applied event: the checker reports it lost
    const lines = readFileSync(history, "utf8").trim().split("\n");
    const ledger = lines.findIndex((l) => l.startsWith('{"type":"ledger"'));
    expect(ledger).toBeGreaterThan(0);
    const tampered = path.join(dir, "tampered.ndjson");
    writeFileSync(tampered, `${lines.filter((_, i) => i !== ledger).join("\n")}\n`);
    const bad = await run(["sim", "check", tampered]);
    expect(bad.code).toBe(6);
    expect(bad.stdout).toMatch(/FAIL nothing-lost\s+1 violation/);
    expect(bad.stdout).toContain("verdict: FAIL");
  }, 120_000);

  it("SIGTERM mid-run stops it with exit 130 and removes its client stores and embedded server", async () => {
    const dir = temp.make();
    const tmp = path.join(dir, "tmp");
    mkdirSync(tmp);
    const scenario = path.join(dir, "long.yaml");
    writeFileSync(scenario, "clients: { count: 3, store: disk }\nworkload:\n  entities: { well: { rows: 5 } }\n  actions: 100000\n  duration: 2h\n");
    const child = spawn(process.execPath, [BIN, "sim", "run", scenario, "--json"], { cwd: ROOT, env: { ...process.env, TMPDIR: tmp }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let madeDir = false;
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.on("close", () => reject(new Error(`sim run ended before it ran: ${stderr}`)));
      child.stderr.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
        // running in virtual time: its stores and PGlite are open in TMPDIR
        if (/"phase":"long [^"]*virtual"/.test(stderr) && !madeDir) {
          madeDir = readdirSync(tmp).some((f) => f.startsWith("mudsync-sim-"));
          child.kill("SIGTERM");
          resolve();
        }
      });
    });
    expect(madeDir).toBe(true);
    expect(await exited).toBe(130);
    expect(errorLines(stderr)).toEqual([
      "mudsync: stopping the run and removing what it made (signal again to force)",
      expect.stringMatching(/^\{"error":\{"code":"interrupted","exit":130,"message":"long: interrupted at \d+ s of virtual time; nothing was checked"\}\}$/),
    ]);
    expect(readdirSync(tmp).filter((f) => f.startsWith("mudsync-sim-"))).toEqual([]);
  }, 120_000);

  it("bad input: one line naming what, where and what was expected, exit 2", async () => {
    const dir = temp.make();
    const scenario = path.join(dir, "bad.yaml");
    writeFileSync(scenario, "clients: { count: 3 }\nworkload:\n  entities: { well: { rows: 2 } }\n  actions: many\n  duration: 1m\n");
    const bad = await run(["sim", "run", scenario]);
    expect(bad.code).toBe(2);
    expect(errorLines(bad.stderr)).toEqual([expect.stringMatching(/^mudsync: .*bad\.yaml: workload\.actions: expected .*got "many"/)]);

    const missing = await run(["sim", "run", "no-such-scenario"]);
    expect(missing.code).toBe(2);
    expect(errorLines(missing.stderr)).toEqual([expect.stringContaining("no-such-scenario: no such file, and no shipped scenario of that name")]);

    const history = path.join(dir, "h.ndjson");
    writeFileSync(history, '{"type":"header","scenario":"x","seed":1,"clients":[],"strategies":{},"epoch":0,"format":1}\n{"type":"read","client":"c01"}\n');
    const broken = await run(["sim", "check", history]);
    expect(broken.code).toBe(2);
    expect(errorLines(broken.stderr)).toEqual([expect.stringMatching(/^mudsync: .*h\.ndjson:2: /)]);

    const nowhere = await run(["sim", "run", "selection-race", "--history", path.join(dir, "missing", "h.ndjson")]);
    expect(nowhere.code).toBe(2);
    expect(errorLines(nowhere.stderr)).toEqual([expect.stringMatching(/^mudsync: --history .*missing\/h\.ndjson: cannot write it \(ENOENT\)$/)]);

    // a folder runs what it can on the sink and names what it leaves; nothing runnable is an error
    const folder = path.join(dir, "mixed");
    mkdirSync(folder);
    copyFileSync(path.join(ROOT, "fixtures/scenarios/chaos/network-flap.yaml"), path.join(folder, "network-flap.yaml"));
    const serverOnly = await run(["sim", "run", folder]);
    expect(serverOnly.code).toBe(2);
    expect(errorLines(serverOnly.stderr)).toEqual([expect.stringMatching(/^mudsync: nothing to run on this sink: network-flap \(fault network acts on a real server's connections; run it with --sink postgres:\/\/…\)$/)]);
    copyFileSync(path.join(ROOT, "fixtures/scenarios/selection-race.yaml"), path.join(folder, "selection-race.yaml"));
    const mixed = await run(["sim", "run", folder, "--json"]);
    expect(mixed.code).toBe(0);
    const out = JSON.parse(mixed.stdout) as { runs: { scenario: string }[]; skipped: { scenario: string }[] };
    expect(out.runs.map((x) => x.scenario)).toEqual(["selection-race"]);
    expect(out.skipped.map((x) => x.scenario)).toEqual(["network-flap"]);

    const flag = await run(["sim", "run", "selection-race", "--clients", "0"]);
    expect(flag.code).toBe(2);
    expect(errorLines(flag.stderr)[0]).toMatch(/--clients must be an integer >= 1/);
  }, 60_000);
});
