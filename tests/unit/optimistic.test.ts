import { describe, expect, it } from "vitest";
import { OptimisticStateManager } from "../../src/core/optimistic.ts";

type Chart = { sources: string[] };
const add = (s: string) => (c: Chart | undefined): Chart => ({ sources: [...(c?.sources ?? []), s] });
const remove = (s: string) => (c: Chart | undefined): Chart => ({ sources: (c?.sources ?? []).filter((x) => x !== s) });

function manager() {
  const m = new OptimisticStateManager<Chart>();
  m.confirm("chart:1", { sources: ["a"] }, 1);
  return m;
}

describe("OptimisticStateManager", () => {
  it("layers several pending edits on one row", () => {
    const m = manager();
    expect(m.apply("chart:1", add("b"), "e1")).toEqual({ sources: ["a", "b"] });
    expect(m.apply("chart:1", add("c"), "e2")).toEqual({ sources: ["a", "b", "c"] });
    expect(m.pending("chart:1")).toEqual(["e1", "e2"]);
  });

  it("rolling back an earlier edit keeps the later ones (no snapshot restore)", () => {
    const m = manager();
    m.apply("chart:1", add("b"), "e1");
    m.apply("chart:1", add("c"), "e2");
    m.apply("chart:1", remove("a"), "e3");
    expect(m.rollback("e1")).toBe(true);
    expect(m.view("chart:1")).toEqual({ sources: ["c"] });
    expect(m.pending("chart:1")).toEqual(["e2", "e3"]);
    expect(m.rollback("e1")).toBe(false);
  });

  it("commit does not change the view and folds committed edits at the bottom into the confirmed state", () => {
    const m = manager();
    m.apply("chart:1", add("b"), "e1");
    m.apply("chart:1", add("c"), "e2");
    m.commit("e2", 3); // out of order: stays layered until e1 settles
    expect(m.pending("chart:1")).toEqual(["e1", "e2"]);
    expect(m.view("chart:1")).toEqual({ sources: ["a", "b", "c"] });
    m.commit("e1", 2);
    expect(m.pending("chart:1")).toEqual([]);
    expect(m.view("chart:1")).toEqual({ sources: ["a", "b", "c"] });
    expect(m.confirmedVersion("chart:1")).toBe(3);
  });

  it("interleaved commit and rollback recompute from the confirmed state in order", () => {
    const m = manager();
    m.apply("chart:1", add("b"), "e1");
    m.apply("chart:1", remove("b"), "e2");
    m.apply("chart:1", add("b"), "e3");
    m.commit("e1");
    m.rollback("e2");
    expect(m.view("chart:1")).toEqual({ sources: ["a", "b", "b"] });
    m.rollback("e3");
    expect(m.view("chart:1")).toEqual({ sources: ["a", "b"] });
  });

  it("a realtime confirm drops reflected and committed edits and re-layers pending ones on the new state", () => {
    const m = manager();
    m.apply("chart:1", add("b"), "e1");
    m.apply("chart:1", add("c"), "e2");
    m.apply("chart:1", add("d"), "e3");
    m.commit("e2", 3);
    // another client removed "a"; the server state reflects e1 (named) and e2 (committed at v3)
    expect(m.confirm("chart:1", { sources: ["b", "c", "x"] }, 3, ["e1"])).toEqual({ sources: ["b", "c", "x", "d"] });
    expect(m.pending("chart:1")).toEqual(["e3"]);
    // e3 committed at v5 folds into the confirmed state; a late v4 notification is then ignored
    m.commit("e3", 5);
    expect(m.confirmedVersion("chart:1")).toBe(5);
    m.confirm("chart:1", { sources: ["stale"] }, 4);
    expect(m.view("chart:1")).toEqual({ sources: ["b", "c", "x", "d"] });
    // a committed edit newer than the notification stays layered behind a pending one
    m.apply("chart:1", add("p"), "e4");
    m.apply("chart:1", add("q"), "e5");
    m.commit("e5", 7);
    expect(m.confirm("chart:1", { sources: ["b", "c", "x", "d", "r"] }, 6)).toEqual({ sources: ["b", "c", "x", "d", "r", "p", "q"] });
    expect(m.pending("chart:1")).toEqual(["e4", "e5"]);
  });

  it("ignores a late notification older than the confirmed version", () => {
    const m = manager();
    m.confirm("chart:1", { sources: ["new"] }, 5);
    expect(m.confirm("chart:1", { sources: ["old"] }, 4)).toEqual({ sources: ["new"] });
  });

  it("keeps rows apart, refuses a reused event id, and notifies subscribers", () => {
    const m = manager();
    const seen: [string, unknown][] = [];
    const off = m.subscribe((key, view) => seen.push([key, view]));
    m.apply("chart:2", add("z"), "e1");
    expect(m.view("chart:1")).toEqual({ sources: ["a"] });
    expect(() => m.apply("chart:1", add("b"), "e1")).toThrow("optimistic edit for event e1 is already applied");
    m.rollback("e1");
    off();
    m.apply("chart:2", add("q"), "e9");
    expect(seen).toEqual([
      ["chart:2", { sources: ["z"] }],
      ["chart:2", undefined],
    ]);
  });
});
