/** The value checks every boundary runs on an event (src/core/value-limits.ts). */
import { describe, expect, it } from "vitest";
import { describeValueProblem, MAX_NESTING_DEPTH, stringProblem, valueProblem } from "../../src/core/value-limits.ts";

/** An object `levels` objects deep (the outermost counts as 1). */
function nested(levels: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < levels; i++) v = { a: v };
  return v;
}

const event = (payload: unknown, extra: Record<string, unknown> = {}) => ({ id: "e1", type: "add", entity: "well", entityId: "w1", payload, ...extra });

describe("valueProblem: nesting", () => {
  it(`accepts a payload nested ${MAX_NESTING_DEPTH} deep and refuses one level more, naming the event's field`, () => {
    expect(valueProblem(event(nested(MAX_NESTING_DEPTH)))).toBeNull();
    const p = valueProblem(event(nested(MAX_NESTING_DEPTH + 1)));
    expect(p).toEqual({ path: ["payload"], reason: expect.stringContaining(`more than ${MAX_NESTING_DEPTH} levels deep`) });
    // arrays count as levels too
    let arr: unknown = [1];
    for (let i = 1; i <= MAX_NESTING_DEPTH; i++) arr = [arr];
    expect(valueProblem(event({ list: arr }))?.path).toEqual(["payload"]);
  });

  it("checks a million levels without overflowing the stack (the walk is iterative and stops at the limit)", () => {
    const text = `${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}`;
    const deep = JSON.parse(text) as unknown;
    expect(() => JSON.stringify(deep)).toThrow(RangeError); // what the check protects against
    expect(valueProblem({ payload: deep })?.path).toEqual(["payload"]);
  });
});

describe("valueProblem: strings PostgreSQL cannot store", () => {
  it.each([
    ["NUL in a value", event({ name: "a\u0000b" }), "payload.name: contains a NUL character (\\u0000 at character 1)"],
    ["NUL in a key", event({ ["k\u0000"]: 1 }), 'payload["k\\u0000"]: the key contains a NUL character'],
    ["lone high surrogate at the end", event({ list: ["ok", "x\ud800"] }), "payload.list[1]: contains an unpaired UTF-16 surrogate (\\ud800 at character 1)"],
    ["lone low surrogate", event({ name: "\udc00" }), "payload.name: contains an unpaired UTF-16 surrogate (\\udc00 at character 0)"],
    ["high surrogate before a non-surrogate", event({ name: "\ud800x" }), "payload.name: contains an unpaired UTF-16 surrogate"],
    ["lone surrogate in a key", event({ ["\udfffk"]: 1 }), 'payload["\\udfffk"]: the key contains an unpaired UTF-16 surrogate'],
    ["NUL in a top-level field", event({}, { lastError: "x\u0000" }), "lastError: contains a NUL character"],
    ["NUL in the id", { ...event({}), id: "a\u0000" }, "id: contains a NUL character"],
  ])("%s", (_label, value, message) => {
    const p = valueProblem(value);
    expect(p).not.toBeNull();
    expect(describeValueProblem(p!)).toContain(message);
    expect(describeValueProblem(p!)).not.toMatch(/[\u0000\ud800-\udfff]/);
  });

  it("accepts surrogate pairs, other control characters and ordinary text", () => {
    expect(valueProblem(event({ emoji: "\ud83d\ude00", tab: "a\tb\u0001", "clé": "été", list: [null, true, 1.5, "x"] }))).toBeNull();
    expect(stringProblem("\ud83d\ude00\ud83d\ude00")).toBeNull();
  });

  it("finds a bad string far down (past the quick check's depth), naming the first 32 keys of its path", () => {
    let bad: unknown = "x\u0000";
    let clean: unknown = "x";
    for (let i = 0; i < 80; i++) {
      bad = { a: bad };
      clean = [clean];
    }
    const p = valueProblem(event(bad))!;
    expect(p.reason).toMatch(/^contains a NUL character/);
    expect(p.path).toEqual(["payload", ...Array(31).fill("a")]);
    expect(valueProblem(event({ clean }))).toBeNull();
  });

  it("with strings off (cache entries) checks depth only", () => {
    expect(valueProblem({ data: "a\u0000" }, { strings: false })).toBeNull();
    expect(valueProblem({ data: nested(MAX_NESTING_DEPTH + 1) }, { strings: false })?.path).toEqual(["data"]);
  });

  it("names a path with a prefix, quoting keys that are not identifiers", () => {
    const p = valueProblem(event({ "a b": [{ x: "\u0000" }] }))!;
    expect(describeValueProblem(p, "body.events.3")).toBe('body.events.3.payload["a b"][0].x: contains a NUL character (\\u0000 at character 0), which PostgreSQL cannot store');
  });
});
