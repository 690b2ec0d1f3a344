/**
 * The export reader's JSON scanner against JSON.parse: for any JSON text, cut into blocks at any
 * places, with any containers taken whole or token by token, the tokens rebuild exactly the value
 * JSON.parse gives; and any text JSON.parse refuses (a valid text with a character inserted,
 * removed or changed) the scanner refuses too, as a JsonSyntaxError.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { anyJson, fuzz, reportFuzzRuns } from "./fuzz-budget.ts";
import { JsonScanner, JsonSyntaxError, type ScanSink, type ScanToken } from "../../src/io/dexie-export/json-scanner.ts";

afterAll(() => reportFuzzRuns("json-scanner"));

/** Rebuilds the value from the tokens; `whole(n)` says whether the n-th container is taken whole. */
class Rebuild implements ScanSink {
  private stack: { container: unknown[] | Record<string, unknown>; key?: string }[] = [];
  private containers = 0;
  result: unknown = undefined;
  done = false;

  constructor(private readonly whole: (n: number) => boolean) {}

  wantsWhole(): boolean {
    return this.whole(this.containers++);
  }

  token(tok: ScanToken): void {
    switch (tok.name) {
      case "startObject":
      case "startArray":
        this.stack.push({ container: tok.name === "startArray" ? [] : {} });
        return;
      case "endObject":
      case "endArray":
        return this.put(this.stack.pop()!.container);
      case "keyValue":
        this.stack[this.stack.length - 1]!.key = tok.value;
        return;
      case "numberValue":
        return this.put(Number(tok.value));
      case "value":
      case "stringValue":
      case "trueValue":
      case "falseValue":
      case "nullValue":
        return this.put(tok.value);
      default:
        throw new Error(`unexpected token ${tok.name}`);
    }
  }

  private put(v: unknown): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) {
      this.result = v;
      this.done = true;
    } else if (Array.isArray(top.container)) top.container.push(v);
    else {
      // as JSON.parse does: an own property even for "__proto__"
      Object.defineProperty(top.container, top.key!, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
}

/** Scans `text` fed in blocks cut at `cuts` (fractions of the length). */
function scan(text: string, cuts: number[], whole: (n: number) => boolean): Rebuild {
  const sink = new Rebuild(whole);
  const scanner = new JsonScanner(sink);
  const at = [...new Set(cuts.map((c) => Math.floor(c * text.length)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...at, text.length]) {
    scanner.feed(text.slice(from, to));
    from = to;
  }
  scanner.end();
  return sink;
}

/** JSON text of any value, with whitespace between its tokens sometimes. */
const jsonText = fc.tuple(anyJson, fc.constantFrom(undefined, 1, "\t", " \r\n ")).map(([v, indent]) => JSON.stringify(v, null, indent));
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 });
const wholeBits = fc.array(fc.boolean(), { minLength: 1, maxLength: 16 });

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe("JsonScanner", () => {
  it("rebuilds what JSON.parse reads, wherever the blocks are cut and whichever containers come whole", async () => {
    await fuzz("valid", 400, fc.tuple(jsonText, cuts, wholeBits), ([text, at, bits]) => {
      const sink = scan(text, at, (n) => bits[n % bits.length]!);
      expect(sink.done).toBe(true);
      expect(sink.result).toEqual(JSON.parse(text));
    });
  });

  it("refuses what JSON.parse refuses, with a JsonSyntaxError", async () => {
    const edit = fc.tuple(jsonText, fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom("insert", "delete", "replace"), fc.constantFrom(..."{}[]:,\"\\ 0-e.tnx\u0001"));
    await fuzz("edited", 600, fc.tuple(edit, cuts, wholeBits), ([[text, where, op, ch], at, bits]) => {
      const i = Math.floor(where * text.length);
      const edited = op === "insert" ? text.slice(0, i) + ch + text.slice(i) : op === "delete" ? text.slice(0, i) + text.slice(i + 1) : text.slice(0, i) + ch + text.slice(i + 1);
      let thrown: unknown;
      let sink: Rebuild | undefined;
      try {
        sink = scan(edited, at, (n) => bits[n % bits.length]!);
      } catch (err) {
        thrown = err;
      }
      if (parses(edited)) {
        expect(thrown).toBeUndefined();
        expect(sink!.result).toEqual(JSON.parse(edited));
      } else {
        expect(thrown).toBeInstanceOf(JsonSyntaxError);
      }
    });
  });

  it.each([
    ["empty input", ""],
    ["a cut-off object", '{"a": 1'],
    ["a trailing comma", "[1, 2,]"],
    ["a missing comma", '{"a": 1 "b": 2}'],
    ["a bare word", "[nul]"],
    ["a leading zero", "[01]"],
    ["two values", "{} {}"],
    ["a cut-off whole container", '[{"a": "b'],
    ["something else for a colon", '[{"a"x1}]'],
    ["a key that is not a string", "[{1: 2}]"],
    ["a trailing comma in an object", '[{"a": 1,}]'],
    ["a string ending in an escaped quote", '["a\\"]'],
    ["a control character in a string", '["\u0001"]'],
  ])("refuses %s", (_name, text) => {
    expect(() => scan(text, [0.5], () => true)).toThrow(JsonSyntaxError);
    expect(() => scan(text, [], () => false)).toThrow(JsonSyntaxError);
  });
});
