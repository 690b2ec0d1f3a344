import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deepEqual, mergeDocuments, mergeEntryLists, type Doc } from "../../src/core/merge.ts";

describe("mergeDocuments", () => {
  it("takes local-only changes, keeps remote-only changes, local wins a clash and reports it", () => {
    const base = { a: 1, b: 1, c: 1, d: 1, gone: 1 };
    const local = { a: 2, b: 1, c: 3, d: 1, gone: 1, added: "l" };
    const remote = { a: 1, b: 5, c: 4, d: 1 };
    expect(mergeDocuments(base, local, remote)).toEqual({
      merged: { a: 2, b: 5, c: 3, d: 1, added: "l" },
      conflicts: ["c"],
    });
  });

  it("merges nested objects field-wise and compares arrays whole", () => {
    const base = { style: { color: "red", width: 1 }, tags: ["x"] };
    const local = { style: { color: "blue", width: 1 }, tags: ["x", "y"] };
    const remote = { style: { color: "red", width: 3 }, tags: ["z"] };
    expect(mergeDocuments(base, local, remote)).toEqual({
      merged: { style: { color: "blue", width: 3 }, tags: ["x", "y"] },
      conflicts: ["tags"],
    });
  });

  it("does not report the same change made on both sides", () => {
    expect(mergeDocuments({ a: 1 }, { a: 2 }, { a: 2 })).toEqual({ merged: { a: 2 }, conflicts: [] });
  });

  it("a deletion on one side is a change", () => {
    expect(mergeDocuments({ a: 1, b: 1 }, { b: 1 }, { a: 1, b: 2 }).merged).toEqual({ b: 2 });
    expect(mergeDocuments({ a: 1 }, { a: 2 }, {})).toEqual({ merged: { a: 2 }, conflicts: ["a"] });
  });

  it("deepEqual ignores key order", () => {
    expect(deepEqual({ a: [1, { b: 2, c: 3 }] }, { a: [1, { c: 3, b: 2 }] })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
  });
});

describe("mergeEntryLists", () => {
  const e = (id: string, extra: Doc = {}) => ({ id, ...extra });

  it("an entry deselected on one side never comes back, even if the other side edited it", () => {
    const base = [e("x", { n: 1 }), e("y"), e("z")];
    const local = [e("x", { n: 2 }), e("z"), e("new-local")];
    const remote = [e("y"), e("z"), e("new-remote")];
    const { merged } = mergeEntryLists(base, local, remote);
    expect(merged.map((x) => x["id"])).toEqual(["z", "new-remote", "new-local"]);
  });

  it("merges an entry changed on both sides field-wise", () => {
    const base = [e("x", { color: "red", width: 1 })];
    const local = [e("x", { color: "blue", width: 1 })];
    const remote = [e("x", { color: "green", width: 2 })];
    expect(mergeEntryLists(base, local, remote)).toEqual({
      merged: [e("x", { color: "blue", width: 2 })],
      conflicts: ['["x"].color'],
    });
  });

  it("keeps remote entries it cannot address", () => {
    const remote = [{ name: "no id" }, e("x")];
    expect(mergeEntryLists([], [], remote).merged).toEqual(remote);
  });
});

// ---------------------------------------------------------------- properties

const ids = ["e1", "e2", "e3", "e4", "e5"];
const baseArb = fc.subarray(ids).map((list) => list.map((id) => ({ id, f: 0, g: 0 })));
/** One side's edit of the base: removes some entries, adds its own, changes only `field`. */
function sideArb(base: Doc[], field: "f" | "g", tag: string) {
  return fc
    .record({
      removed: fc.subarray(base.map((x) => x["id"] as string)),
      edited: fc.subarray(base.map((x) => x["id"] as string)),
      added: fc.subarray(["n1", "n2", "n3"]),
      value: fc.integer({ min: 1, max: 9 }),
    })
    .map(({ removed, edited, added, value }) => [
      ...base
        .filter((x) => !removed.includes(x["id"] as string))
        .map((x) => (edited.includes(x["id"] as string) ? { ...x, [field]: value } : x)),
      ...added.map((n) => ({ id: `${tag}-${n}`, [field]: value })),
    ]);
}

const byId = (list: Doc[]) => Object.fromEntries(list.map((x) => [x["id"] as string, x]));

describe("merge properties", () => {
  it("entry-list merges of non-overlapping edits converge whichever side is local", () => {
    fc.assert(
      fc.property(
        baseArb.chain((base) => fc.tuple(fc.constant(base), sideArb(base, "f", "a"), sideArb(base, "g", "b"))),
        ([base, a, b]) => {
          const ab = mergeEntryLists(base, a, b);
          const ba = mergeEntryLists(base, b, a);
          expect(byId(ab.merged)).toEqual(byId(ba.merged));
          expect(ab.conflicts).toEqual([]);
          // a deselected entry never reappears
          const present = new Set(ab.merged.map((x) => x["id"]));
          for (const x of base) {
            const id = x["id"];
            const kept = a.some((y) => y["id"] === id) && b.some((y) => y["id"] === id);
            expect(present.has(id)).toBe(kept);
          }
          // every one-sided addition survives
          for (const x of [...a, ...b]) if (!base.some((y) => y["id"] === x["id"])) expect(present.has(x["id"])).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("document merges of edits to disjoint fields converge and contain both sides' edits", () => {
    const fields = ["a", "b", "c", "d", "e", "f"];
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...fields), fc.integer({ min: 0, max: 3 })),
        fc.subarray(fields),
        fc.dictionary(fc.constantFrom(...fields), fc.integer({ min: 4, max: 9 })),
        (base, localFields, changes) => {
          const local: Doc = { ...base };
          const remote: Doc = { ...base };
          for (const [k, v] of Object.entries(changes)) {
            if (localFields.includes(k)) local[k] = v;
            else remote[k] = v;
          }
          const lr = mergeDocuments(base, local, remote);
          const rl = mergeDocuments(base, remote, local);
          expect(lr.merged).toEqual(rl.merged);
          expect(lr.merged).toEqual({ ...base, ...changes });
          expect(lr.conflicts).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
