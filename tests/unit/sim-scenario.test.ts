import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDurationText } from "../../src/core/duration.ts";
import { InvalidInputError, UsageError } from "../../src/errors.ts";
import { listScenarios, SHIPPED_SCENARIOS_DIR } from "../../src/sim/scenario/list-scenarios.ts";
import { loadScenario, parseScenarioText } from "../../src/sim/scenario/load-scenario.ts";
import { resolveScenario, type Scenario } from "../../src/sim/scenario/resolve-scenario.ts";

const MIN = 60_000;
const H = 60 * MIN;

/** the one-line error parsing `text` as `file` gives (fails the test when it parses) */
function errorOf(text: string, file = "x.yaml"): InvalidInputError {
  try {
    parseScenarioText(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return err as InvalidInputError;
  }
  throw new Error(`expected ${file} to be rejected`);
}

const resolveText = (text: string, overrides = {}, file = "dir/tiny.yaml"): Scenario =>
  resolveScenario(parseScenarioText(text, file), overrides, file);

const MINIMAL = `
workload:
  entities: { well: { rows: 3 } }
  actions: 10
  duration: 1m
`;

describe("parseDurationText", () => {
  it.each([
    ["1500", 1500],
    ["500ms", 500],
    ["30s", 30_000],
    ["1.5s", 1500],
    ["5m", 5 * MIN],
    ["2h", 2 * H],
    ["2h15m", 2 * H + 15 * MIN],
    ["1h2m3s4ms", H + 2 * MIN + 3000 + 4],
    [" 10m ", 10 * MIN],
  ])("%s -> %d ms", (text, ms) => expect(parseDurationText(text)).toBe(ms));

  it.each(["", "m", "-5m", "5x", "15m2h", "5m5m", "2h 15m", "5 m", "1e3", "ms"])("rejects %j", (text) =>
    expect(parseDurationText(text)).toBeUndefined(),
  );
});

describe("shipped scenarios", () => {
  it("lists every file of fixtures/scenarios, sorted by name, with its summary", async () => {
    const list = await listScenarios(SHIPPED_SCENARIOS_DIR);
    const names = list.map((s) => s.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(
      expect.arrayContaining([
        "selection-race",
        "offline-50-merge",
        "offline-50-local-wins",
        "offline-50-remote-wins",
        "offline-50-manual",
        "offline-8-merge",
        "poison-head",
        "duplicate-delivery",
        "clock-skew",
        "old-export",
        "load-1m",
      ]),
    );
    for (const s of list) expect(s.description, s.name).not.toBe("");
    const race = list.find((s) => s.name === "selection-race")!;
    expect(race).toMatchObject({ ci: true, clients: 3, expect: "pass", file: path.join(SHIPPED_SCENARIOS_DIR, "selection-race.yaml") });
    expect(list.find((s) => s.name === "load-1m")!.ci).toBe(false);
  });

  it("loads and resolves every one, each client online or offline from 0 to the end", async () => {
    for (const { file, name } of await listScenarios()) {
      const s = resolveScenario(await loadScenario(file), {}, file);
      // scenarios in a folder are listed under it (chaos/…)
      expect(name.split("/").at(-1)).toBe(s.name);
      expect(s.workload.actionsPerClient, name).toBeGreaterThan(0);
      expect(s.timeline).toHaveLength(s.clients.count);
      for (const phases of s.timeline) {
        expect(phases[0]!.fromMs).toBe(0);
        expect(phases.at(-1)!.toMs).toBe(s.endMs);
        for (let i = 1; i < phases.length; i++) expect(phases[i]!.fromMs).toBe(phases[i - 1]!.toMs);
      }
    }
  });

  it("offline-50 scenarios: 25 clients offline for 2h after 5m, 25 online, about 120 actions each", async () => {
    for (const strategy of ["merge", "local-wins", "remote-wins", "manual"]) {
      const file = path.join(SHIPPED_SCENARIOS_DIR, `offline-50-${strategy}.yaml`);
      const s = resolveScenario(await loadScenario(file), {}, file);
      expect(s.strategies.default).toBe(strategy);
      expect(s.clients.count).toBe(50);
      const offline = s.timeline.filter((p) => p.some((x) => x.state === "offline"));
      expect(offline).toHaveLength(25);
      expect(offline[0]![1]).toEqual({ state: "offline", fromMs: 5 * MIN, toMs: 5 * MIN + 2 * H });
      expect(s.workload.actionsPerClient).toBeGreaterThanOrEqual(100);
      expect(s.workload.actionsPerClient).toBeLessThanOrEqual(150);
    }
  });
});

describe("scenario errors: one line naming the file and the dot-path", () => {
  it("a bad value", () => {
    const err = errorOf(`${MINIMAL}  mix: { add: 1, update: many }\n`, "fixtures/scenarios/x.yaml");
    expect(err.message).toBe('fixtures/scenarios/x.yaml: workload.mix.update: expected a number >= 0, got "many"');
    expect(err.where).toBe("workload.mix.update");
  });

  it("an unknown key, with the keys that are allowed", () => {
    const err = errorOf(`${MINIMAL}  drainEvry: 1s\n`);
    expect(err.message).toMatch(/^x\.yaml: workload\.drainEvry: expected one of entities, actions, rate, duration, mix, hot, drainEvery, got an unknown key$/);
  });

  it("an unknown key in a list item", () => {
    expect(errorOf(`${MINIMAL}faults:\n  - { kind: offline, at: 10s, for: 5s, forr: 1 }\n`).message).toMatch(
      /^x\.yaml: faults\.0\.forr: expected one of kind, clients, at, for, got an unknown key$/,
    );
  });

  it("a bad duration", () => {
    const err = errorOf(MINIMAL.replace("duration: 1m", "duration: 5 minutes"));
    expect(err.message).toMatch(/^x\.yaml: workload\.duration: expected a duration like .*, got "5 minutes"$/);
  });

  it("a bad fault kind", () => {
    expect(errorOf(`${MINIMAL}faults:\n  - { kind: meteor }\n`).message).toMatch(/^x\.yaml: faults\.0\.kind: expected a fault kind: poison, .*, got "meteor"$/);
  });

  it("a missing workload, and a file that is not a mapping", () => {
    expect(errorOf("seed: 3\n").message).toMatch(/^x\.yaml: workload: expected a mapping with entities and actions or rate, got nothing$/);
    expect(errorOf("").message).toMatch(/^x\.yaml: \(root\): expected a mapping with at least a workload, got null$/);
  });

  it("a YAML syntax error, with line and column", () => {
    const err = errorOf("seed: 3\nworkload:\n  entities: [1, 2\n  actions: 4\n");
    expect(err.message).toMatch(/^x\.yaml:4:\d+: expected valid YAML, got .+$/);
    expect(err.message).not.toContain("\n");
  });

  it("a JSON syntax error and a JSON file checked like YAML", () => {
    expect(errorOf('{"workload": }', "x.json").message).toMatch(/^x\.json: expected valid JSON, got .+$/);
    const json = JSON.stringify({ workload: { entities: { well: { rows: 0 } }, actions: 1, duration: "1m" } });
    expect(errorOf(json, "x.json").message).toBe("x.json: workload.entities.well.rows: expected an integer from 1 to 100000, got 0");
  });

  it("checks across fields: one of actions or rate, a span, a sensible rate, a poison in the run", () => {
    expect(errorOf(`${MINIMAL}  rate: 2/m\n`).message).toBe("x.yaml: workload: expected either actions or rate, got both");
    expect(errorOf("workload:\n  entities: { well: { rows: 1 } }\n  rate: 2/m\n").message).toBe(
      "x.yaml: workload.duration: expected a duration (or a timeline) to spread the actions over, got nothing",
    );
    expect(errorOf("workload:\n  entities: { well: { rows: 1 } }\n  rate: 1/h\n  duration: 10m\n").message).toMatch(
      /^x\.yaml: workload\.rate: expected at least one action per client over the span, got "1\/h" over 10 min$/,
    );
    expect(errorOf(`${MINIMAL}faults:\n  - { kind: poison, variant: oversized, at: 2m }\n`).message).toMatch(/^x\.yaml: faults\.0\.at: expected a time within the run .*, got "2m"$/);
    expect(errorOf(`${MINIMAL}faults:\n  - { kind: duplicate-batch, every: 2, chance: 0.5 }\n`).message).toBe(
      "x.yaml: faults.0: expected exactly one of every, chance or at, got every and chance",
    );
    expect(errorOf(`${MINIMAL}timeline:\n  - { clients: 3-1, phases: [ { online: 1m } ] }\n`).message).toMatch(/^x\.yaml: timeline\.0\.clients: expected "all", .*, got "3-1"$/);
  });

  it("chaos faults: a network mode, the window a refusal or latency needs, a storm inside the run", () => {
    expect(errorOf(`${MINIMAL}faults:\n  - { kind: network, mode: flap, every: 2 }\n`).message).toMatch(/^x\.yaml: faults\.0\.mode: expected one of cut, refuse, latency, drop-request, got "flap"$/);
    expect(errorOf(`${MINIMAL}faults:\n  - { kind: network, mode: refuse, at: 10s }\n`).message).toBe(
      "x.yaml: faults.0.for: expected how long the network refuses connections (a duration), got nothing",
    );
    expect(errorOf(`${MINIMAL}faults:\n  - { kind: network, mode: latency, at: 10s, for: 5s }\n`).message).toBe(
      "x.yaml: faults.0.latency: expected the added latency (a duration, wall time), got nothing",
    );
    expect(errorOf(`${MINIMAL}faults:\n  - { kind: terminate-backends }\n`).message).toBe("x.yaml: faults.0: expected exactly one of every, chance or at, got none");
    expect(errorOf(`${MINIMAL}faults:\n  - { kind: kill-daemon, every: 1s, count: 3 }\n`).message).toBe(
      "x.yaml: faults.0: expected daemons: { count: N } in the scenario (the daemons it kills), got no daemons",
    );
    expect(errorOf(`${MINIMAL}faults:\n  - { kind: statement-timeout, at: 5m, for: 1m }\n`).message).toMatch(/^x\.yaml: faults\.0\.at: expected a time within the run/);
    const file = parseScenarioText(`${MINIMAL}faults:\n  - { kind: network, mode: latency, at: 10s, for: 5s, latency: 20ms }\n  - { kind: statement-timeout, at: 20s, for: 10s }\n`, "s.yaml");
    expect(resolveScenario(file, {}, "s.yaml").faults).toEqual([
      { kind: "network", clients: [0, 1, 2, 3], mode: "latency", atMs: 10_000, forMs: 5_000, latencyMs: 20 },
      { kind: "statement-timeout", clients: [0, 1, 2, 3], atMs: 20_000, forMs: 10_000, timeoutMs: 1 },
    ]);
  });

  it("a selector out of range after a --clients override, at resolve time", () => {
    const text = `${MINIMAL}clients: { count: 8 }\ntimeline:\n  - { clients: 0-3, phases: [ { offline: 30s } ] }\n  - { clients: 4-7, phases: [ { online: 1m } ] }\n`;
    const file = parseScenarioText(text, "s.yaml");
    expect(resolveScenario(file, {}, "s.yaml").clients.count).toBe(8);
    let err: unknown;
    try {
      resolveScenario(file, { clients: 6 }, "s.yaml");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toBe('s.yaml: timeline.1.clients: expected client indexes from 0 to 5 (6 clients), got "4-7"');
  });

  it("a fault selector out of range, two groups naming one client, and bad overrides", () => {
    const text = `${MINIMAL}faults:\n  - { kind: clock-skew, clients: [0, 9], skew: -10m }\n`;
    expect(() => resolveText(text)).toThrow('dir/tiny.yaml: faults.0.clients: expected client indexes from 0 to 3 (4 clients), got [0,9]');
    const twice = `${MINIMAL}timeline:\n  - { clients: 0-2, phases: [ { online: 1m } ] }\n  - { clients: 2, phases: [ { online: 1m } ] }\n`;
    expect(() => resolveText(twice)).toThrow("dir/tiny.yaml: timeline.1.clients: expected clients not already in timeline.0, got client 2 again");
    expect(() => resolveText(MINIMAL, { clients: 0 })).toThrow(UsageError);
    expect(() => resolveText(MINIMAL, { sink: "mysql://x" })).toThrow('--sink expects pglite or a postgres:// URL, got "mysql://x"');
  });
});

describe("resolveScenario", () => {
  it("fills the defaults", () => {
    const s = resolveText(MINIMAL);
    expect(s).toEqual({
      name: "tiny",
      source: "dir/tiny.yaml",
      description: "",
      ci: false,
      seed: 1,
      expect: "pass",
      sink: { kind: "pglite" },
      clients: { count: 4, store: "memory" },
      strategies: { default: "merge", byEntity: {} },
      engine: { batchSize: 100, coalesce: true, maxAttempts: 10 },
      cacheTtlMs: 5 * MIN,
      workload: {
        entities: [{ entity: "well", rows: 3 }],
        actionsPerClient: 10,
        durationMs: MIN,
        mix: { add: 1, update: 4, remove: 1, read: 4 },
        drainEveryMs: 1000,
      },
      timeline: Array.from({ length: 4 }, () => [{ state: "online", fromMs: 0, toMs: MIN }]),
      endMs: MIN,
      faults: [],
    });
  });

  it("takes the file's values and the overrides over them", () => {
    const text = `name: given
seed: 5
sink: postgres://u@h/db
clients: { count: 2, store: disk }
strategy: local-wins
strategies: { well: remote-wins }
engine: { batchSize: 7 }
cache: { ttl: 30s }
workload:
  entities: { chart_data_source: { rows: 2 }, well: { rows: 1 } }
  actions: 3
  duration: 1m
  mix: { add: 2, read: 1 }
  hot: { rows: 1, share: 0.9 }
  drainEvery: 250ms
`;
    const s = resolveText(text);
    expect(s).toMatchObject({
      name: "given",
      seed: 5,
      sink: { kind: "postgres", url: "postgres://u@h/db" },
      clients: { count: 2, store: "disk" },
      strategies: { default: "local-wins", byEntity: { well: "remote-wins" } },
      engine: { batchSize: 7, coalesce: true, maxAttempts: 10 },
      cacheTtlMs: 30_000,
    });
    expect(s.workload).toMatchObject({
      entities: [{ entity: "chart_data_source", rows: 2, entries: 8 }, { entity: "well", rows: 1 }],
      mix: { add: 2, update: 0, remove: 0, read: 1 },
      hot: { rows: 1, share: 0.9 },
      drainEveryMs: 250,
    });
    const over = resolveText(text, { seed: 99, clients: 5, sink: "pglite" });
    expect(over).toMatchObject({ seed: 99, clients: { count: 5 }, sink: { kind: "pglite" } });
    expect(over.timeline).toHaveLength(5);
  });

  it("computes actions per client from rate x duration, the duration defaulting to the timeline", () => {
    const byDuration = resolveText("workload:\n  entities: { well: { rows: 1 } }\n  rate: 2/m\n  duration: 1h30m\n");
    expect(byDuration.workload).toMatchObject({ actionsPerClient: 180, durationMs: 90 * MIN });
    const byTimeline = resolveText(
      "workload:\n  entities: { well: { rows: 1 } }\n  rate: 1/s\ntimeline:\n  - { clients: all, phases: [ { online: 10s }, { offline: 20s } ] }\n",
    );
    expect(byTimeline.workload).toMatchObject({ actionsPerClient: 30, durationMs: 30_000 });
  });

  it("resolves timeline phases per client, filling to the end of the run with online", () => {
    const s = resolveText(`clients: { count: 4 }
workload:
  entities: { well: { rows: 2 } }
  actions: 5
  duration: 3h
timeline:
  - clients: [0, 2]
    phases: [ { online: 5m }, { offline: 2h }, { online: 10m } ]
  - clients: "1"
    phases: [ { offline: 1h }, { offline: 1h }, { online: 3h } ]
`);
    expect(s.endMs).toBe(5 * H);
    const expected0 = [
      { state: "online", fromMs: 0, toMs: 5 * MIN },
      { state: "offline", fromMs: 5 * MIN, toMs: 2 * H + 5 * MIN },
      { state: "online", fromMs: 2 * H + 5 * MIN, toMs: 5 * H },
    ];
    expect(s.timeline[0]).toEqual(expected0);
    expect(s.timeline[2]).toEqual(expected0);
    expect(s.timeline[1]).toEqual([
      { state: "offline", fromMs: 0, toMs: 2 * H },
      { state: "online", fromMs: 2 * H, toMs: 5 * H },
    ]);
    expect(s.timeline[3]).toEqual([{ state: "online", fromMs: 0, toMs: 5 * H }]);
    expect(s.workload.durationMs).toBe(3 * H);
  });

  it("types each fault kind, durations in ms and selectors as client lists", () => {
    const s = resolveText(`${MINIMAL.replace("1m", "10m")}faults:
  - { kind: poison, variant: invalid-payload, clients: 1-2 }
  - { kind: duplicate-batch, chance: 0.25 }
  - { kind: clock-skew, clients: 3, skew: +3h }
  - { kind: old-export, clients: [2, 0], exportAt: 1m, replayAt: 5m }
  - { kind: offline, clients: "0", at: 30s, for: 2m }
`);
    expect(s.faults).toEqual([
      { kind: "poison", clients: [1, 2], variant: "invalid-payload", count: 1, atMs: 0 },
      { kind: "duplicate-batch", clients: [0, 1, 2, 3], chance: 0.25 },
      { kind: "clock-skew", clients: [3], skewMs: 3 * H },
      { kind: "old-export", clients: [0, 2], exportAtMs: MIN, replayAtMs: 5 * MIN },
      { kind: "offline", clients: [0], atMs: 30_000, forMs: 2 * MIN },
    ]);
  });
});

describe("listScenarios over a folder", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-scenarios-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads .yaml, .yml and .json, ignores other files, and rejects two files of one name", async () => {
    await writeFile(path.join(dir, "b.yml"), `description: bee\nci: true\nclients: { count: 2 }\n${MINIMAL}`);
    await writeFile(path.join(dir, "a.json"), JSON.stringify({ name: "c", expect: "fail", workload: { entities: { well: { rows: 1 } }, actions: 1, duration: 1000 } }));
    await writeFile(path.join(dir, "notes.txt"), "not a scenario");
    await mkdir(path.join(dir, "chaos"));
    await writeFile(path.join(dir, "chaos", "cut.yaml"), `${MINIMAL}faults: [ { kind: network, mode: cut, every: 2 } ]\n`);
    expect(await listScenarios(dir)).toEqual([
      { name: "b", file: path.join(dir, "b.yml"), description: "bee", ci: true, clients: 2, expect: "pass", sink: "any" },
      { name: "c", file: path.join(dir, "a.json"), description: "", ci: false, clients: 4, expect: "fail", sink: "any" },
      { name: "chaos/cut", file: path.join(dir, "chaos", "cut.yaml"), description: "", ci: false, clients: 4, expect: "pass", sink: "server" },
    ]);
    await writeFile(path.join(dir, "c.yaml"), MINIMAL);
    await expect(listScenarios(dir)).rejects.toThrow(`${path.join(dir, "c.yaml")}: name: expected a name no other scenario in the folder has, got "c", as in a.json`);
  });

  it("names a missing file", async () => {
    await expect(loadScenario(path.join(dir, "nope.yaml"))).rejects.toThrow(`${path.join(dir, "nope.yaml")}: no such file`);
  });
});
