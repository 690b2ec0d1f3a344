/**
 * Each view of `mudsync top` rendered alone (ink-testing-library): the status panel's counts,
 * sparkline, oldest pending, retries, dead letters, conflicts waiting, batch in flight and stuck
 * head; the event list's selection and paging hint; an event inspected; the change feed; the
 * doctor's findings with their fixes; the help with the keys a read-only source cannot use.
 */
import React from "react";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render } from "ink-testing-library";
import { StatusPanel } from "../../src/tui/top/status-panel.tsx";
import { EventList } from "../../src/tui/top/event-list.tsx";
import { EventDetail } from "../../src/tui/top/event-detail.tsx";
import { ChangeFeed } from "../../src/tui/top/change-feed.tsx";
import { FindingsPanel } from "../../src/tui/top/findings-panel.tsx";
import { Help } from "../../src/tui/top/help.tsx";
import { FilterBar } from "../../src/tui/top/filter-bar.tsx";
import type { TopSnapshot } from "../../src/tui/top/model.ts";
import { someEvents } from "./fake-source.ts";

afterEach(() => cleanup());

const AT = 1_700_000_100_000;

function snapshot(over: Partial<TopSnapshot> = {}): TopSnapshot {
  return {
    source: { kind: "daemon", label: "http://127.0.0.1:4000 (local /tmp/s)", readOnly: false },
    at: AT,
    counts: { pending: 1200, processing: 50, completed: 98_000, failed: 7, dead: 2 },
    oldestPending: { id: "old-1", ageMs: 125_000 },
    daemon: { pid: 77, paused: false, draining: true, uptimeMs: 3_600_000, settled: 98_000, applied: 97_990, retried: 13, dead: 2, eventsPerSec: 900, lastBatchAt: null, head: { id: "old-1", status: "pending", sinceMs: 90_000, stuck: true } },
    throughput: { bucketMs: 1000, buckets: [0, 100, 400, 800] },
    inFlight: [{ source: "drain", events: 500, startedAt: new Date(AT - 300).toISOString() }],
    changes: [{ entity: "well", id: "w-9", version: 4, op: "update", at: new Date(AT - 2000).toISOString() }],
    conflicts: { open: 100, more: true },
    page: { events: someEvents(3, ["failed"]), next: "c1", after: null },
    findings: null,
    ...over,
  };
}

describe("StatusPanel", () => {
  it("shows counts, throughput, oldest pending, retries, dead letters, conflicts, the batch in flight and a stuck head", () => {
    const f = render(<StatusPanel s={snapshot()} width={140} />).lastFrame()!;
    expect(f).toContain("daemon http://127.0.0.1:4000 (local /tmp/s) running · draining · pid 77 · up 1 h");
    expect(f).toMatch(/pending 1,200\s+processing 50\s+completed 98,000\s+failed 7\s+dead 2\s+total 99,259/);
    expect(f).toMatch(/throughput ▁\S*█ 800 ev\/s \(peak 800\)/);
    expect(f).toContain("oldest pending 2 min 5 s (old-1)");
    expect(f).toContain("retries 13 · dead letters 2 · conflicts waiting 100+");
    expect(f).toContain("in flight drain 500 events for 300 ms");
    expect(f).toContain("head old-1 pending for 1 min 30 s STUCK");
  });

  it("a paused daemon says so; a source read directly has no daemon, throughput or batch in flight", () => {
    const paused = snapshot();
    paused.daemon = { ...paused.daemon!, paused: true, draining: false };
    expect(render(<StatusPanel s={paused} width={140} />).lastFrame()).toContain("PAUSED · pid 77");
    const direct = snapshot({ source: { kind: "store", label: "/tmp/s", readOnly: true }, daemon: null, throughput: null, inFlight: null, conflicts: null, oldestPending: null });
    const f = render(<StatusPanel s={direct} width={140} />).lastFrame()!;
    expect(f).toContain("store /tmp/s read-only");
    expect(f).toContain("throughput: measuring…");
    expect(f).toContain("oldest pending -");
    expect(f).toContain("retries - · dead letters 2 · conflicts waiting -");
    expect(f).toContain("in flight - (no daemon)");
  });
});

describe("EventList", () => {
  it("marks the selected row, shows status, row, retries and last error, and says when more pages follow", () => {
    const s = snapshot();
    const f = render(<EventList page={s.page} at={AT} selected={1} pageNo={2} filterText="status:failed" width={100} />).lastFrame()!;
    expect(f).toContain("EVENTS [status:failed] page 2 (more: j/↓ past the end)");
    expect(f).toMatch(/^> e01\s+failed\s+curve:r1\s+update\s+1 min 39 s\s+0\s+boom 1/m);
    expect(f).toMatch(/^ {2}e00\s+failed/m);
    const empty = render(<EventList page={{ events: [], next: null, after: null }} at={AT} selected={0} pageNo={1} filterText="" width={120} />).lastFrame()!;
    expect(empty).toContain("no events match");
    expect(empty).not.toContain("more:");
  });
});

describe("EventDetail", () => {
  it("shows attempts, the next attempt, the last error, the payload and the history", () => {
    const [e] = someEvents(1, ["failed"]);
    const event = { ...e!, attempts: 3, retryCount: 3, nextAttemptAt: AT + 4000, clientId: "tab-1", seq: 12, payload: { name: "Well 7", depth: 1200 } };
    const f = render(
      <EventDetail
        detail={{ event, history: [{ eventId: e!.id, at: AT - 5000, from: "processing", to: "failed", note: "HTTP 503" }] }}
        now={AT}
        rows={30}
      />,
    ).lastFrame()!;
    expect(f).toContain("event e00");
    expect(f).toContain("row well:r0 · update · failed · queued 1 min 40 s ago");
    expect(f).toContain("attempts 3 · retries 3 · next attempt in 4 s · client tab-1 seq 12");
    expect(f).toContain("last error boom 0");
    expect(f).toContain('"depth": 1200');
    expect(f).toMatch(/processing → failed\s+HTTP 503/);
  });

  it("cuts a long payload and points to queue show", () => {
    const [e] = someEvents(1);
    const payload = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    const f = render(<EventDetail detail={{ event: { ...e!, payload }, history: [] }} now={AT} rows={20} />).lastFrame()!;
    expect(f).toMatch(/… \d+ more lines \(mudsync queue show e00\)/);
    expect(f).toContain("none recorded");
  });
});

describe("ChangeFeed and FindingsPanel", () => {
  it("lists row changes newest first, or says that only a daemon follows the feed", () => {
    expect(render(<ChangeFeed changes={snapshot().changes} at={AT} rows={4} />).lastFrame()).toMatch(/update\s+well:w-9 v4 2 s ago/);
    expect(render(<ChangeFeed changes={null} at={AT} rows={4} />).lastFrame()).toContain("only a daemon follows the change feed");
  });

  it("shows the most severe findings with the command that fixes each", () => {
    const findings = {
      at: AT,
      healthy: false,
      findings: [
        { kind: "stuck-processing", severity: "error" as const, title: "3 events stuck in processing", evidence: "", eventIds: ["a"], moreEvents: 2, fix: "mudsync queue replay --status processing" },
        { kind: "dead", severity: "warning" as const, title: "2 dead letters", evidence: "", eventIds: [], moreEvents: 0, fix: "mudsync queue replay --status dead" },
        { kind: "note", severity: "info" as const, title: "third", evidence: "", eventIds: [], moreEvents: 0, fix: "" },
      ],
    };
    const f = render(<FindingsPanel findings={findings} rows={2} />).lastFrame()!;
    expect(f).toContain("ERROR 3 events stuck in processing");
    expect(f).toContain("fix: mudsync queue replay --status processing");
    expect(f).toContain("WARNING 2 dead letters");
    expect(f).not.toContain("third");
    expect(render(<FindingsPanel findings={{ at: AT, findings: [], healthy: true }} rows={2} />).lastFrame()).toContain("doctor: nothing found");
    expect(render(<FindingsPanel findings={{ at: AT, findings: [], healthy: false, error: "cannot read" }} rows={2} />).lastFrame()).toContain("doctor: cannot read");
  });
});

describe("Help and FilterBar", () => {
  it("lists every key; on a read-only source the keys that write are marked unavailable", () => {
    const rw = render(<Help readOnly={undefined} />).lastFrame()!;
    for (const key of ["enter", "r ", "R ", "d ", "p ", "/ ", "? ", "q "]) expect(rw).toContain(key);
    expect(rw).not.toContain("unavailable");
    const ro = render(<Help readOnly="store read directly" />).lastFrame()!;
    expect(ro.match(/\(unavailable here\)/g)).toHaveLength(4);
    expect(ro).toContain("read-only: store read directly");
  });

  it("shows the filter being typed", () => {
    expect(render(<FilterBar text="failed,dead" />).lastFrame()).toMatch(/^\/failed,dead/);
  });
});
