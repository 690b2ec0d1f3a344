import { describe, expect, it } from "vitest";
import { compileGlob, globMatch } from "../../src/core/glob.ts";

describe("glob", () => {
  it.each([
    ["chart:*", "chart:42", true],
    ["chart:*", "chart:", true],
    ["chart:*", "well:1", false],
    ["*", "", true],
    ["*:1", "well:1", true],
    ["*:1", "well:10", false],
    ["well:?", "well:1", true],
    ["well:?", "well:", false],
    ["well:?", "well:12", false],
    ["a*b*c", "abc", true],
    ["a*b*c", "aXXbYYc", true],
    ["a*b*c", "aXXcYYb", false],
    ["a**b", "ab", true],
    ["*x*y*", "__x__y__", true],
    ["*x*y*", "__y__x__", false],
    ["?*?", "ab", true],
    ["?*?", "a", false],
    ["exact", "exact", true],
    ["exact", "exactly", false],
  ])("%j matches %j: %s", (pattern, key, expected) => {
    expect(globMatch(pattern, key)).toBe(expected);
  });

  it("treats regex metacharacters as literals", () => {
    expect(globMatch("chart.1", "chart.1")).toBe(true);
    expect(globMatch("chart.1", "chartX1")).toBe(false);
    expect(globMatch("a+b", "a+b")).toBe(true);
    expect(globMatch("a+b", "aab")).toBe(false);
    expect(globMatch("(x|y)", "x")).toBe(false);
    expect(globMatch("(x|y)", "(x|y)")).toBe(true);
    expect(globMatch("[ab]*", "a1")).toBe(false);
    expect(globMatch("[ab]*", "[ab]1")).toBe(true);
    expect(globMatch("^k$*", "^k$z")).toBe(true);
    expect(globMatch("a\\*", "a\\xyz")).toBe(true); // the backslash is literal, the star a wildcard
    expect(globMatch("q{2}", "qq")).toBe(false);
  });

  it("counts ? as one code point, not one UTF-16 unit", () => {
    expect(globMatch("poly:?", "poly:😀")).toBe(true);
    expect(globMatch("poly:??", "poly:😀")).toBe(false);
  });

  it("reports the literal prefix before the first wildcard", () => {
    expect(compileGlob("chart:*:data").prefix).toBe("chart:");
    expect(compileGlob("well:?1").prefix).toBe("well:");
    expect(compileGlob("*").prefix).toBe("");
    const exact = compileGlob("chart:1");
    expect(exact.prefix).toBe("chart:1");
    expect(exact.exact).toBe(true);
  });

  it("stays fast on patterns that make naive backtracking blow up", () => {
    const key = "a".repeat(5000);
    expect(globMatch(`${"a*".repeat(30)}b`, key)).toBe(false);
  });
});
