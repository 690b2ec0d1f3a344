/**
 * The copies a claim hands out are the caller's own: equal to a structured clone of the row, and
 * no change the caller makes, however deep, reaches the row the store keeps.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { detachedCopy } from "../../src/stores/dexie/events/row-copy.ts";

describe("detachedCopy", () => {
  it("equals structuredClone for any JSON-like row", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (row) => {
        expect(detachedCopy(row)).toStrictEqual(structuredClone(row));
      }),
    );
  });

  it("shares no object or array with the row", () => {
    const row = { id: "e1", payload: { tags: ["a", { deep: [1, 2] }], location: { lat: 1 } } };
    const copy = detachedCopy(row);
    copy.payload.tags.push("b");
    (copy.payload.tags[1] as { deep: number[] }).deep.push(3);
    copy.payload.location.lat = 99;
    expect(row).toStrictEqual({ id: "e1", payload: { tags: ["a", { deep: [1, 2] }], location: { lat: 1 } } });
  });

  it("keeps an own `__proto__` key as data, not as the prototype", () => {
    const row = JSON.parse('{"payload":{"__proto__":{"polluted":true}}}') as { payload: Record<string, unknown> };
    const copy = detachedCopy(row);
    expect(Object.getPrototypeOf(copy.payload)).toBe(Object.prototype);
    expect(Object.keys(copy.payload)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("copies values that are not plain data with structuredClone", () => {
    const when = new Date(5);
    const copy = detachedCopy({ payload: { when } });
    expect(copy.payload.when).toBeInstanceOf(Date);
    expect(copy.payload.when).not.toBe(when);
    expect(copy.payload.when.getTime()).toBe(5);
  });
});
