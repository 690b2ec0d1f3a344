/**
 * The dashboard's keys, on the whole app over an in-memory source (ink-testing-library): moving
 * the selection and paging past the end and back with cursors, inspecting an event and leaving it,
 * the keys that act (r, R, d, p) sending their action, the filter typed after `/` becoming the
 * list query, help, quit, and a refresh that fails keeping the last screen with the error.
 */
import React from "react";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render } from "ink-testing-library";
import { TopApp } from "../../src/tui/top/app.tsx";
import { FakeTopSource, someEvents, tick, until } from "./fake-source.ts";

const DOWN = "\u001B[B";
const UP = "\u001B[A";
const ENTER = "\r";
const ESC = "\u001B";

afterEach(() => cleanup());

function start(source: FakeTopSource, pageSize = 3) {
  const app = render(<TopApp source={source} intervalMs={60_000} findingsMs={60_000} pageSize={pageSize} />);
  return { ...app, frame: () => app.lastFrame() ?? "" };
}

/** The id on the selected row (the one marked ">"). */
const selectedId = (frame: string) => /^> (\S+)/m.exec(frame)?.[1];

describe("top keys", () => {
  it("j/k and the arrows move the selection; past the end the next page is read with its cursor, and back", async () => {
    const source = new FakeTopSource(someEvents(5));
    const { stdin, frame } = start(source);
    await until(frame, (f) => f.includes("e00"));
    expect(selectedId(frame())).toBe("e00");
    stdin.write("j");
    await until(frame, (f) => selectedId(f) === "e01");
    stdin.write(DOWN);
    await until(frame, (f) => selectedId(f) === "e02");
    stdin.write("j"); // past the end of page 1: page 2 from cursor "3"
    await until(frame, (f) => selectedId(f) === "e03");
    expect(frame()).toContain("page 2");
    expect(source.requests.at(-1)).toMatchObject({ after: "3", limit: 3 });
    expect(frame()).not.toContain("e00");
    stdin.write("k"); // before the start of page 2: page 1 again, last row selected
    await until(frame, (f) => selectedId(f) === "e02");
    expect(frame()).toContain("page 1");
    stdin.write(UP);
    await until(frame, (f) => selectedId(f) === "e01");
  });

  it("enter inspects the selected event (payload, attempts, last error, history); esc goes back", async () => {
    const events = someEvents(3, ["failed"]);
    events[1] = { ...events[1]!, attempts: 4, payload: { name: "Well seven" } };
    const source = new FakeTopSource(events);
    const { stdin, frame } = start(source);
    await until(frame, (f) => f.includes("e00"));
    stdin.write("j");
    await tick();
    stdin.write(ENTER);
    const detail = await until(frame, (f) => f.includes("event e01"));
    expect(detail).toContain("attempts 4");
    expect(detail).toContain("last error boom 1");
    expect(detail).toContain('"name": "Well seven"');
    expect(detail).toMatch(/pending → failed\s+drain/);
    stdin.write(ESC);
    await until(frame, (f) => f.includes("EVENTS"));
    expect(selectedId(frame())).toBe("e01");
  });

  it("r retries the selected event, R all failed and dead, d drains, p pauses then resumes", async () => {
    const source = new FakeTopSource(someEvents(3, ["failed"]));
    const { stdin, frame } = start(source);
    await until(frame, (f) => f.includes("e00"));
    stdin.write("j");
    await tick();
    stdin.write("r");
    await until(frame, (f) => f.includes("retry e01: did retry"));
    stdin.write("R");
    await until(frame, (f) => f.includes("retry all failed and dead: did retry-failed"));
    stdin.write("d");
    await until(frame, (f) => f.includes("drain now: did drain"));
    stdin.write("p");
    await until(frame, (f) => f.includes("PAUSED"));
    stdin.write("p");
    await until(frame, (f) => f.includes("resume: did resume"));
    expect(source.actions).toEqual([{ kind: "retry", ids: ["e01"] }, { kind: "retry-failed" }, { kind: "drain" }, { kind: "pause" }, { kind: "resume" }]);
  });

  it("on a read-only source the keys that write say why and send nothing", async () => {
    const source = new FakeTopSource(someEvents(2), "the store is read directly");
    const { stdin, frame } = start(source);
    await until(frame, (f) => f.includes("e00"));
    for (const key of ["r", "R", "d", "p"]) {
      stdin.write(key);
      await tick();
    }
    expect(frame()).toContain("pause: unavailable — the store is read directly");
    expect(source.actions).toEqual([]);
    stdin.write("?");
    await until(frame, (f) => f.includes("keys (any key returns)"));
    expect(frame()).toMatch(/drain now.*\(unavailable here\)/);
    expect(frame()).toContain("read-only: the store is read directly");
  });

  it("/ takes a filter that becomes the list query; a bad one is refused with the reason", async () => {
    const source = new FakeTopSource(someEvents(6, ["pending", "failed", "dead"]));
    const { stdin, frame } = start(source, 10);
    await until(frame, (f) => f.includes("e05"));
    stdin.write("/");
    await tick();
    for (const ch of "failed,dead entity:curve") stdin.write(ch);
    await tick();
    expect(frame()).toContain("/failed,dead entity:curve");
    stdin.write(ENTER);
    await until(frame, (f) => f.includes("[status:failed,dead entity:curve]") && !f.includes("e02 "));
    expect(source.requests.at(-1)?.filter).toEqual({ statuses: ["failed", "dead"], entity: "curve", order: "asc" });
    expect(frame()).toContain("e01");
    expect(frame()).toContain("e05");
    expect(frame()).not.toContain("e02 ");
    stdin.write("/");
    await tick();
    for (const ch of " status:nope") stdin.write(ch);
    stdin.write(ENTER);
    await until(frame, (f) => f.includes('filter: status "nope": expected pending, processing, completed, failed, dead'));
  });

  it("keys that arrive together in one chunk are taken one at a time", async () => {
    const source = new FakeTopSource(someEvents(6, ["pending", "failed", "dead"]));
    const { stdin, frame } = start(source, 10);
    await until(frame, (f) => f.includes("e05"));
    stdin.write("jj");
    await until(frame, (f) => selectedId(f) === "e02");
    stdin.write("/");
    await until(frame, (f) => f.includes("enter apply"));
    stdin.write("failed,dead\r");
    await until(frame, (f) => f.includes("[status:failed,dead]") && !f.includes("enter apply"));
    // the screen shows the filter before the refresh it starts has asked the source
    const statuses = () => JSON.stringify(source.requests.at(-1)?.filter?.statuses);
    await until(statuses, (f) => f === JSON.stringify(["failed", "dead"]));
    expect(source.requests.at(-1)?.filter).toEqual({ statuses: ["failed", "dead"], order: "asc" });
  });

  it("? shows the help and any key returns; q quits", async () => {
    const source = new FakeTopSource(someEvents(2));
    const { stdin, frame } = start(source);
    await until(frame, (f) => f.includes("e00"));
    stdin.write("?");
    await until(frame, (f) => f.includes("keys (any key returns)"));
    stdin.write("x");
    await until(frame, (f) => f.includes("EVENTS"));
    stdin.write("q");
    await tick();
    // unmounted: input no longer reaches the app
    const before = frame();
    stdin.write("?");
    await tick();
    expect(frame()).toBe(before);
  });

  it("a refresh that fails keeps the last screen and shows the error", async () => {
    const source = new FakeTopSource(someEvents(2));
    const { stdin, frame } = start(source);
    await until(frame, (f) => f.includes("e00"));
    source.failNext = "daemon at http://127.0.0.1:1 did not answer GET /v1/status: ECONNREFUSED";
    stdin.write("/");
    await until(frame, (f) => f.includes("enter apply"));
    stdin.write("newest");
    stdin.write(ENTER); // a new filter refreshes at once
    await until(frame, (f) => f.includes("refresh failed: daemon at http://127.0.0.1:1"));
    expect(frame()).toContain("e00");
  });
});
