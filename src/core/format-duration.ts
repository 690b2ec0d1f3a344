/**
 * Durations for people: `120 ms`, `4.2 s`, `45 s`, `3 min 20 s`, `3 h 12 min`, `2 d 5 h`,
 * `45 d`, `1.1 y`. At most two units, the smaller one rounded, so a value reads at a glance
 * whatever its size. Text output only: JSON keeps milliseconds.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const YEAR = 365.25 * DAY;

const oneDecimal = (n: number) => n.toFixed(1).replace(/\.0$/, "");

/** `ms` in units of `big` and `small` (the remainder rounded to a whole `small`; dropped when 0). */
function twoUnits(ms: number, big: number, bigName: string, small: number, smallName: string): string {
  const smalls = Math.round(ms / small);
  const per = Math.round(big / small);
  const whole = Math.floor(smalls / per);
  const rest = smalls % per;
  return rest ? `${whole} ${bigName} ${rest} ${smallName}` : `${whole} ${bigName}`;
}

/** Milliseconds as a human duration; "-" for a value that is not a finite number. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  if (ms < 0) return `-${formatDuration(-ms)}`;
  // each tier ends where rounding would make its largest value read as the next tier's first
  if (ms < SECOND - 0.5) return `${Math.round(ms)} ms`;
  if (ms < 10 * SECOND - 50) return `${oneDecimal(ms / SECOND)} s`;
  if (ms < MINUTE - SECOND / 2) return `${Math.round(ms / SECOND)} s`;
  if (ms < HOUR - SECOND / 2) return twoUnits(ms, MINUTE, "min", SECOND, "s");
  if (ms < DAY - MINUTE / 2) return twoUnits(ms, HOUR, "h", MINUTE, "min");
  if (ms < 7 * DAY - HOUR / 2) return twoUnits(ms, DAY, "d", HOUR, "h");
  if (ms < YEAR - DAY / 2) return `${Math.round(ms / DAY)} d`;
  return `${oneDecimal(ms / YEAR)} y`;
}
