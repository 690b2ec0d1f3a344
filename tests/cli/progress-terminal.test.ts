/**
 * Progress wherever work is long, as a person sees it: the real binary in a tmux terminal shows an
 * Ink bar with the rate and the ETA for `queue export`, `queue import` (validate and write),
 * `queue drain`, `queue replay`, `doctor`, `sim run` and `bench batching`; the drain's and the
 * bench's screens show a part-way ETA while they run. Piped (stdout not a terminal) only the result is printed; with --json, stderr
 * carries NDJSON progress lines with `rate` and `etaMs` and stdout only the result.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, ROOT, run, tempDirs } from "./queue-run.ts";
import { withMigratedPglite } from "../helpers/pglite-template.ts";
import { runInTmux, tmuxAvailable } from "../helpers/tmux.ts";

const N = 10_000;
const dirs = tempDirs();
let work: string;
let source: string;
let target: string;
let exportFile: string;

const env = { MUDSYNC_STORE: "", DATABASE_URL: "", MUDSYNC_CONTROL_TOKEN: "" };
const mudsync = (args: string) => `node ${BIN} ${args}`;
const terminal = (command: string) => runInTmux(command, { width: 160, height: 45, cwd: ROOT, env, timeoutMs: 180_000 });

/** `label … (100%) · 1,234 unit/s · ETA …`: a finished bar with its rate and ETA. */
const finishedBar = (label: string, unit: string) => new RegExp(`${label} █+ [\\d,]+/[\\d,]+ ${unit} \\(100%\\) · [\\d,.]+ (${unit}|MB|kB)/s · ETA `);

describe.runIf(tmuxAvailable())("progress on a terminal, piped and with --json", () => {
  beforeAll(async () => {
    work = dirs.make("mudsync-progress-");
    source = path.join(work, "source");
    target = path.join(work, "target");
    exportFile = path.join(work, "export.json");
    const ndjson = Array.from({ length: N }, (_, i) =>
      JSON.stringify({ id: `p-${i}`, type: "update", entity: "well", entityId: `w${i % 500}`, payload: { name: `n${i}` }, clientId: "c", seq: i }),
    ).join("\n");
    const enq = await run(["queue", "enqueue", "-", "--store", source], { input: ndjson, env });
    expect(enq.code).toBe(0);
    await withMigratedPglite(target);
  });
  afterAll(() => dirs.cleanup());

  it("queue export: a bar with rows/s and ETA; piped, only the result", async () => {
    const t = await terminal(mudsync(`queue export ${exportFile} --store ${source}`));
    expect(t.code).toBe(0);
    expect(t.final).toMatch(finishedBar("export events", "rows"));
    expect(t.final).toContain(`events: ${N} rows to ${exportFile}`);
    const piped = await terminal(`${mudsync(`queue export ${path.join(work, "again.json")} --store ${source}`)} | cat`);
    expect(piped.code).toBe(0);
    expect(piped.screens.join("\n")).not.toContain("█");
    expect(piped.final).toContain(`events: ${N} rows to`);
  }, 180_000);

  it("queue import: the validate bar in MB/s or kB/s and the write bar in rows/s, each with an ETA", async () => {
    const t = await terminal(mudsync(`queue import ${exportFile} --store ${target}`));
    expect(t.code).toBe(0);
    // a phase that ends before the bar is loaded leaves one line of the same figures
    expect(t.final).toMatch(new RegExp(`validate ${exportFile}(:| █+) [\\d,]+/[\\d,]+ bytes( \\(100%\\))? · [\\d,.]+ (MB|kB)/s · ETA `));
    expect(t.final).toMatch(finishedBar("import", "rows"));
    expect(t.final).toContain(`events: ${N} inserted`);
  }, 180_000);

  it("queue drain: the bar shows events/s and a part-way ETA while it runs", async () => {
    const t = await terminal(mudsync(`queue drain --store ${target} --batch-size 200`));
    expect(t.code).toBe(0);
    const partWay = t.screens.find((s) => /drain █*░+ [\d,]+\/[\d,]+ \(\d\d?%\) · [\d,]+ events\/s · ETA \d/.test(s));
    expect(partWay, `no part-way screen among ${t.screens.length}:\n${t.screens.join("\n----\n")}`).toBeDefined();
    expect(t.final).toMatch(/drain █+ [\d,]+\/[\d,]+ \(100%\) · [\d,]+ events\/s · ETA 0 ms/);
    expect(t.final).toContain("queue drained");
  }, 180_000);

  it("queue replay: the same drain bar", async () => {
    const t = await terminal(mudsync(`queue replay --status completed --store ${target}`));
    expect(t.code).toBe(0);
    expect(t.final).toMatch(/replay █+ [\d,]+\/[\d,]+ \(100%\) · [\d,]+ events\/s · ETA 0 ms/);
    expect(t.final).toContain(`requeued ${N} events`);
  }, 180_000);

  it("doctor: a bar over the events read with the rate and ETA", async () => {
    const t = await terminal(mudsync(`doctor --store ${target}`));
    expect(t.final).toMatch(/doctor █+ [\d,]+\/[\d,]+ events \(100%\) · [\d,]+ events\/s · ETA /);
  }, 180_000);

  it("sim run: a bar of actions with the rate and ETA", async () => {
    const t = await terminal(mudsync("sim run clock-skew"));
    expect(t.code).toBe(0);
    expect(t.final).toMatch(/clock-skew passed █+ [\d,]+\/[\d,]+ actions \(100%\) · [\d,]+ actions\/s · ETA /);
  }, 180_000);

  it("bench batching: a bar of actions, naming the strategy running, with the rate and ETA; piped, only the result", async () => {
    const args = "bench batching --events 200 --clients 2 --batch-sizes 10 --repeat 1";
    const t = await terminal(mudsync(args));
    expect(t.code).toBe(0);
    const partWay = t.screens.find((s) => /bench batching: naive \(repeat 1\/1\) █*░+ [\d,]+\/[\d,]+ actions \(\d\d?%\) · [\d,.]+ actions\/s · ETA \d/.test(s));
    expect(partWay, `no part-way screen among ${t.screens.length}:\n${t.screens.join("\n----\n")}`).toBeDefined();
    expect(t.final).toMatch(finishedBar("bench batching", "actions"));
    expect(t.final).toContain("mudsync at batch 10:");
    const piped = await terminal(`${mudsync(args)} | cat`);
    expect(piped.code).toBe(0);
    expect(piped.screens.join("\n")).not.toMatch(/actions \(\d+%\)/);
    expect(piped.final).toContain("mudsync at batch 10:");
  }, 180_000);

  it("--json: NDJSON progress on stderr with rate and etaMs, only the result on stdout", async () => {
    const again = path.join(work, "json-store");
    const r = await run(["queue", "import", exportFile, "--store", again, "--json"], { env });
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const last = lines.filter((l) => l.phase === "import").at(-1)!;
    expect(last).toMatchObject({ progress: true, done: N, total: N, unit: "rows", final: true, etaMs: 0 });
    expect(typeof last.rate).toBe("number");
    expect(JSON.parse(r.stdout).events.inserted).toBe(N);
  }, 180_000);
});
