import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IdSet } from "../../src/io/dexie-export/id-set.ts";

describe("IdSet", () => {
  it("answers like a Map through growth and rehashing, unicode ids included", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom("a", "é", "e\u0301", "well-1", "")), { maxLength: 3000 }), (ids) => {
        const set = new IdSet();
        const map = new Map<string, number>();
        ids.forEach((id, i) => {
          expect(set.getOrAdd(id, i)).toBe(map.get(id));
          if (!map.has(id)) map.set(id, i);
        });
        expect(set.size).toBe(map.size);
      }),
      { numRuns: 50 },
    );
  });

  it("keeps 200k distinct ids and finds the first place of a repeat", () => {
    const set = new IdSet();
    for (let i = 0; i < 200_000; i++) expect(set.getOrAdd(`evt-${i}`, i * 2 ** 32 + i)).toBeUndefined();
    expect(set.getOrAdd("evt-123456", 0)).toBe(123456 * 2 ** 32 + 123456);
    expect(set.size).toBe(200_000);
  });
});
