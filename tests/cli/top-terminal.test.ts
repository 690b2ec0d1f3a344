/**
 * `mudsync top` as a person runs it: the real binary in a tmux terminal of fixed size, watching a
 * daemon (a child process on a temp store with its embedded PGlite) through the control API. The
 * counts move as the daemon drains; `p` resumes and pauses it, `d` asks for a pass, `/` filters,
 * enter inspects an event and its history, `r` puts it back to pending (it comes back a duplicate),
 * `?` shows the help, and `q` ends the program. The daemon's own counters confirm what the keys did.
 * On a store read directly, the keys that write say why they are unavailable, and killing top with
 * SIGKILL leaves every file of the store as it was, byte for byte.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDexieStore } from "../../src/stores/dexie/index.ts";
import { makeEvent } from "../helpers/fakes.ts";
import { fileHashes } from "../helpers/file-tree.ts";
import { BIN, ROOT, tempDirs } from "./queue-run.ts";
import { withMigratedPglite } from "../helpers/pglite-template.ts";
import { startDaemon, type ChildDaemon } from "../helpers/daemon-process.ts";
import { startTmux, tmuxAvailable, type TmuxSession } from "../helpers/tmux.ts";

const N = 600;
const dirs = tempDirs();
let daemon: ChildDaemon | undefined;
let term: TmuxSession | undefined;

/** `n` updates of 50 wells by one client, queued one millisecond apart (the list's order). */
const events = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) =>
    makeEvent({ id: `${prefix}-${String(i).padStart(4, "0")}`, entityId: `${prefix}-w${i % 50}`, payload: { name: `${prefix} ${i}` }, clientId: prefix, seq: i, timestamp: Date.now() - 60_000 + i }),
  );

async function status(d: ChildDaemon) {
  return (await (await d.fetch(`${d.url}/v1/status`)).json()) as { paused: boolean; counts: Record<string, number>; engine: { applied: number; duplicates: number } };
}

/** The number after `label` on the status line ("completed 1,234"). */
const count = (screen: string, label: string) => Number((new RegExp(`${label} ([\\d,]+)`).exec(screen)?.[1] ?? "-1").replace(/,/g, ""));

describe.runIf(tmuxAvailable())("mudsync top in a terminal", () => {
  beforeAll(async () => {
    const store = dirs.make("mudsync-top-");
    await withMigratedPglite(store);
    daemon = await startDaemon(["--store", store]);
    // paused, so that the events wait until the dashboard's `p` lets them go
    await daemon.fetch(`${daemon.url}/v1/pause`, { method: "POST" });
    const res = await daemon.fetch(`${daemon.url}/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events: events(N, "t") }),
    });
    expect(res.status).toBe(200);
    term = startTmux(`node ${BIN} top --daemon ${daemon.url} --interval 300ms`, {
      width: 150,
      height: 40,
      cwd: ROOT,
      env: { MUDSYNC_CONTROL_TOKEN: daemon.token, MUDSYNC_STORE: store, DATABASE_URL: "" },
    });
  });

  afterAll(async () => {
    term?.kill();
    if (daemon && daemon.child.exitCode === null) {
      daemon.child.kill("SIGKILL");
      await daemon.exited;
    }
    dirs.cleanup();
  });

  it("shows the paused daemon and its pending events", async () => {
    const s = await term!.waitFor((x) => x.includes("PAUSED") && count(x, "pending") === N, 30_000, `PAUSED with pending ${N}`);
    expect(s).toContain(`daemon ${daemon!.url}`);
    expect(s).toMatch(/^EVENTS page 1 \(more: j\/↓ past the end\)/m);
    expect(s).toMatch(/^> t-0000\s+pending\s+well:t-w0/m);
    expect(s).toContain("conflicts waiting 0");
  });

  it("p resumes the daemon and the counts move until every event is completed; p pauses it again", async () => {
    term!.keys(["p"]);
    const seen = new Set<number>();
    await term!.waitFor((x) => {
      seen.add(count(x, "completed"));
      return count(x, "completed") === N;
    }, 60_000, `completed ${N}`);
    expect(seen.size).toBeGreaterThan(1); // the screen followed the drain, not only its end
    const s = term!.screen();
    expect(s).toMatch(/running · pid \d+/);
    expect(s).toMatch(/throughput \S+ [\d,]+ ev\/s/);
    expect((await status(daemon!)).engine.applied).toBe(N);
    term!.keys(["p"]);
    await term!.waitFor((x) => x.includes("PAUSED"), 10_000, "PAUSED");
    expect((await status(daemon!)).paused).toBe(true);
    term!.keys(["p"]);
    await term!.waitFor((x) => x.includes("resume: resumed"), 10_000, "resumed");
  });

  it("d asks the daemon for a pass and shows its answer", async () => {
    term!.keys(["d"]);
    await term!.waitFor((x) => /drain now: drain pass settled \d+; left completed 600/.test(x), 20_000, "the drain answer");
  });

  it("/ filters, enter inspects with the history, r retries it and the replay comes back a duplicate", async () => {
    term!.keys(["/"]);
    await term!.waitFor((x) => x.includes("enter apply"), 5000, "the filter bar");
    term!.keys(["completed newest"], { literal: true });
    term!.keys(["Enter"]);
    await term!.waitFor((x) => x.includes("EVENTS [status:completed newest]") && /^> t-0599\s+completed/m.test(x), 10_000, "the filtered list");
    term!.keys(["j"]);
    await term!.waitFor((x) => /^> t-0598/m.test(x), 5000, "t-0598 selected");
    term!.keys(["Enter"]);
    const detail = await term!.waitFor((x) => x.includes("event t-0598"), 10_000, "the event inspected");
    expect(detail).toMatch(/row well:t-w48 · update · completed/);
    expect(detail).toContain('"name": "t 598"');
    expect(detail).toMatch(/processing → completed/);
    term!.keys(["r"]);
    await term!.waitFor((x) => x.includes("retry t-0598: moved 1 back to pending"), 10_000, "the retry answer");
    term!.keys(["Escape"]);
    await term!.waitFor((x) => x.includes("EVENTS [status:completed newest]"), 5000, "back to the list");
    for (let i = 0; i < 100 && (await status(daemon!)).engine.duplicates < 1; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await status(daemon!)).engine.duplicates).toBe(1);
  });

  it("? shows the help; q quits", async () => {
    term!.keys(["?"]);
    await term!.waitFor((x) => x.includes("keys (any key returns)"), 5000, "the help");
    term!.keys(["x"]);
    await term!.waitFor((x) => x.includes("EVENTS"), 5000, "the list again");
    term!.keys(["q"]);
    for (let i = 0; i < 50 && !term!.exited(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(term!.exited()).toBe(true);
  });
});

describe.runIf(tmuxAvailable())("mudsync top on a store read directly, in a terminal", () => {
  const temp = tempDirs();
  let t: TmuxSession | undefined;
  afterAll(() => {
    t?.kill();
    temp.cleanup();
  });

  it("refuses the keys that write, and a SIGKILL leaves the store's files unchanged", async () => {
    const store = path.join(temp.make("mudsync-top-store-"), "store");
    const w = await openDexieStore({ dir: store, mode: "write", command: "test" });
    await w.enqueue(Array.from({ length: 50 }, (_, i) => makeEvent({ id: `s-${String(i).padStart(2, "0")}`, entityId: `w${i}` })));
    await w.close();
    const before = fileHashes(store);
    t = startTmux(`node ${BIN} top --store ${store} --interval 300ms`, { width: 150, height: 40, cwd: ROOT, env: { MUDSYNC_STORE: "", DATABASE_URL: "" } });
    await t.waitFor((x) => x.includes(`store ${store} read-only`) && count(x, "pending") === 50, 30_000, "the store's counts");
    t.keys(["d"]);
    await t.waitFor((x) => x.includes("drain now: unavailable — the store is read directly"), 10_000, "the refusal");
    t.keys(["Enter"]);
    await t.waitFor((x) => x.includes("event s-00"), 10_000, "the event inspected");
    process.kill(t.pid(), "SIGKILL");
    for (let i = 0; i < 50 && !t.exited(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(t.exited()).toBe(true);
    expect(fileHashes(store)).toEqual(before);
    const again = await openDexieStore({ dir: store, mode: "write", command: "test" });
    expect(again.warnings).toEqual([]);
    expect((await again.counts()).pending).toBe(50);
    await again.close();
  });
});
