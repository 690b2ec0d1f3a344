/**
 * How many cases each fuzz property runs: a base small enough for `npm test`, multiplied by
 * MUDSYNC_FUZZ_SCALE (e.g. MUDSYNC_FUZZ_SCALE=20 for a long run). Each file reports the cases it
 * ran on stderr when it ends, so a run's count is on record.
 */
import fc from "fast-check";

const scale = Number(process.env.MUDSYNC_FUZZ_SCALE ?? "1");
if (!(scale > 0)) throw new Error(`MUDSYNC_FUZZ_SCALE="${process.env.MUDSYNC_FUZZ_SCALE}": expected a number above 0`);

/** Runs `base × MUDSYNC_FUZZ_SCALE` cases (at least 1). */
export function fuzzRuns(base: number): number {
  return Math.max(1, Math.round(base * scale));
}

const ran = new Map<string, number>();

/** fc.assert with the scaled number of runs, counting the cases under `name`. */
export async function fuzz<T>(name: string, base: number, arb: fc.Arbitrary<T>, check: (value: T) => Promise<void> | void): Promise<void> {
  const numRuns = fuzzRuns(base);
  await fc.assert(
    fc.asyncProperty(arb, async (v) => {
      ran.set(name, (ran.get(name) ?? 0) + 1);
      await check(v);
    }),
    { numRuns, endOnFailure: true },
  );
}

/** One line per property: how many cases ran (shrinking included). */
export function reportFuzzRuns(file: string): void {
  const parts = [...ran].map(([name, n]) => `${name} ${n}`);
  process.stderr.write(`[fuzz] ${file}: ${parts.join(", ")} (MUDSYNC_FUZZ_SCALE=${scale})\n`);
}

/** Text with what hostile input holds: NULs, lone surrogates, quotes, long runs. */
export const hostileText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("", "\u0000", "\ud800", "'; DROP TABLE x; --", '"', "\\", "x".repeat(300), "__proto__", "constructor", "toString"),
);

/** Any JSON value, with hostile strings and keys, nesting a few levels. */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    hostileText,
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(hostileText, tie("value"), { maxKeys: 5 }),
  ),
})).value;

/**
 * JSON text of arrays or objects nested `n` deep (a stack overflow in recursive code past a few
 * thousand levels). As text: JSON.stringify itself overflows on such a value.
 */
export const deepText = fc
  .integer({ min: 900, max: 20_000 })
  .chain((n) => fc.constantFrom(`${"[".repeat(n)}${"]".repeat(n)}`, `${'{"a":'.repeat(n)}1${"}".repeat(n)}`));

export const deepJson: fc.Arbitrary<unknown> = deepText.map((text) => JSON.parse(text) as unknown);
