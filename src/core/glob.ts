/**
 * Glob patterns for cache keys: `*` matches any run of characters (including none), `?` matches
 * exactly one character (one code point), and every other character is literal — regex
 * metacharacters, backslashes and slashes included. Matching is a linear-time two-pointer walk
 * (no regular expression is built, so there is nothing to escape and no catastrophic backtracking).
 */

export interface CompiledGlob {
  readonly pattern: string;
  /** The literal text before the first wildcard: every matching key starts with it. */
  readonly prefix: string;
  /** True when the pattern has no wildcard (it matches exactly one key). */
  readonly exact: boolean;
  test(key: string): boolean;
}

export function compileGlob(pattern: string): CompiledGlob {
  const pat = Array.from(pattern);
  const firstWild = pat.findIndex((c) => c === "*" || c === "?");
  const prefix = firstWild === -1 ? pattern : pat.slice(0, firstWild).join("");
  return {
    pattern,
    prefix,
    exact: firstWild === -1,
    test: (key) => (firstWild === -1 ? key === pattern : matchCodePoints(pat, Array.from(key))),
  };
}

/** One-off match; prefer compileGlob when testing many keys. */
export function globMatch(pattern: string, key: string): boolean {
  return compileGlob(pattern).test(key);
}

/**
 * Classic wildcard match: advance both sides on a literal or `?`; on `*` remember where it was and
 * try to match it against nothing first, widening it by one character each time a later part fails.
 */
function matchCodePoints(pat: string[], key: string[]): boolean {
  let p = 0;
  let k = 0;
  let starP = -1;
  let starK = 0;
  while (k < key.length) {
    const c = pat[p];
    if (c === "*") {
      starP = p++;
      starK = k;
    } else if (c !== undefined && (c === "?" || c === key[k])) {
      p++;
      k++;
    } else if (starP !== -1) {
      p = starP + 1;
      k = ++starK;
    } else {
      return false;
    }
  }
  while (pat[p] === "*") p++;
  return p === pat.length;
}
