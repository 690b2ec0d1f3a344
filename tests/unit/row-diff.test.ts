/** The per-field diff a dry run prints for each row it would change. */
import { describe, expect, it } from "vitest";
import { diffRow } from "../../src/core/row-diff.ts";

describe("diffRow", () => {
  it("lists the changed fields of a document by dot-path, nested objects included", () => {
    const before = { name: "A-1", depth: 100, location: { lat: 1, lon: 2 }, tags: ["a"], "odd key": 1 };
    const after = { name: "A-1", depth: 250, location: { lat: 1, lon: 3 }, tags: ["a", "b"], status: "drilling" };
    expect(diffRow(before, after)).toEqual([
      { field: "depth", op: "replace", before: 100, after: 250 },
      { field: "location.lon", op: "replace", before: 2, after: 3 },
      { field: '"odd key"', op: "remove", before: 1 },
      { field: "status", op: "add", after: "drilling" },
      { field: "tags", op: "replace", before: ["a"], after: ["a", "b"] },
    ]);
    expect(diffRow(before, structuredClone(before))).toEqual([]);
  });

  it("diffs a chart's entry list by entry id, into the entry", () => {
    const a = { id: "curve-a", source: { type: "curve", curveId: "a" }, displaySettings: { visible: true } };
    const b = { id: "curve-b", source: { type: "curve", curveId: "b" }, displaySettings: { visible: true } };
    const c = { id: "curve-c", source: { type: "curve", curveId: "c" }, displaySettings: { visible: true } };
    const hidden = { ...a, displaySettings: { visible: false, color: "#fff" } };
    expect(diffRow([a, b], [hidden, c])).toEqual([
      { field: "[curve-b]", op: "remove", before: b },
      { field: "[curve-a].displaySettings.color", op: "add", after: "#fff" },
      { field: "[curve-a].displaySettings.visible", op: "replace", before: true, after: false },
      { field: "[curve-c]", op: "add", after: c },
    ]);
    // the same entries in another order: reported as a whole
    expect(diffRow([a, b], [b, a])).toEqual([{ field: "", op: "replace", before: [a, b], after: [b, a] }]);
  });

  it("a row that appears or disappears lists its fields or entries", () => {
    expect(diffRow(undefined, { name: "x", depth: 1 })).toEqual([
      { field: "depth", op: "add", after: 1 },
      { field: "name", op: "add", after: "x" },
    ]);
    expect(diffRow([{ id: 7, v: 1 }], undefined)).toEqual([{ field: "[#7]", op: "remove", before: { id: 7, v: 1 } }]);
    expect(diffRow(undefined, 5)).toEqual([{ field: "", op: "add", after: 5 }]);
    expect(diffRow(undefined, undefined)).toEqual([]);
  });
});
