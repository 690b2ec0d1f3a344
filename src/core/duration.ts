/**
 * Duration text to milliseconds: plain numbers are milliseconds; `500ms`, `30s`, `5m`, `2h` and
 * compounds such as `2h15m` (units from largest to smallest, each once). Shared by the CLI's
 * duration flags and the simulation's scenario files so both read time the same way.
 */

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
const UNIT_ORDER: Unit[] = ["h", "m", "s", "ms"];

/** The milliseconds `text` stands for (rounded to a whole ms), or undefined when it is not a duration. */
export function parseDurationText(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+(?:\.\d+)?$/.test(t)) return Math.round(Number(t));
  const part = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;
  let total = 0;
  let lastUnit = -1;
  let at = 0;
  while (at < t.length) {
    part.lastIndex = at;
    const m = part.exec(t);
    if (!m) return undefined;
    const unit = UNIT_ORDER.indexOf(m[2] as Unit);
    if (unit <= lastUnit) return undefined;
    lastUnit = unit;
    total += Number(m[1]) * UNIT_MS[m[2] as Unit];
    at = part.lastIndex;
  }
  return at === 0 ? undefined : Math.round(total);
}
