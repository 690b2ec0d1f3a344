/**
 * Clock skew: events stamped in the future (a device clock ahead), or far older than the rest of
 * the queue (a clock behind, or an old export replayed). Browser events are ordered within a row
 * by timestamp, so a skewed stamp moves an edit before or after the others. State: a count per
 * day and the few oldest events, whatever the queue's size.
 */
import type { QueuedEvent } from "../../core/event.ts";
import { ownString } from "../../io/own-string.ts";
import { IdSample } from "../id-sample.ts";
import { iso, plural, type RuleContext, defineRule, kindOf, listed } from "../rule.ts";

/** Stamps further ahead of now than this are in the future (allowing for ordinary drift). */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;
/** Stamps this far before the 5th percentile of the queue are far older than the rest. */
export const OLD_GAP_MS = 30 * 86_400_000;
const DAY = 86_400_000;
/** Below this many events a percentile says too little. */
const MIN_EVENTS = 20;

export const clockSkew = defineRule(
  "clock-skew",
  "warning",
  `timestamps in the future (over ${FUTURE_TOLERANCE_MS / 60_000} min ahead) or more than ${OLD_GAP_MS / DAY} days older than the rest of the queue`,
  (ctx) => {
    const future = new IdSample(ctx.sampleSize);
    let latest = -Infinity;
    const days = new Map<number, number>();
    /** the oldest events, oldest first, at most sampleSize */
    const oldest: { ts: number; id: string }[] = [];
    let total = 0;
    return {
      observe(e: QueuedEvent) {
        total++;
        if (e.timestamp > ctx.now + FUTURE_TOLERANCE_MS) {
          future.add(e.id);
          latest = Math.max(latest, e.timestamp);
        }
        const day = Math.floor(e.timestamp / DAY);
        days.set(day, (days.get(day) ?? 0) + 1);
        if (oldest.length < ctx.sampleSize || e.timestamp < oldest[oldest.length - 1]!.ts) {
          let i = oldest.length;
          while (i > 0 && oldest[i - 1]!.ts > e.timestamp) i--;
          oldest.splice(i, 0, { ts: e.timestamp, id: ownString(e.id) });
          if (oldest.length > ctx.sampleSize) oldest.pop();
        }
      },
      findings() {
        const out = [];
        if (future.count > 0) {
          out.push({
            ...kindOf(clockSkew),
            title: `${plural(future.count, "event")} stamped in the future`,
            evidence:
              `the latest at ${iso(latest)}, ${Math.round((latest - ctx.now) / 60_000)} min after now (${iso(ctx.now)}): ` +
              "the device's clock was ahead, and these edits sort after later ones of their rows",
            ...listed(future),
            fix: ctx.fix.dryRun(future.ids),
          });
        }
        if (total >= MIN_EVENTS) {
          const sorted = [...days.entries()].sort((a, b) => a[0] - b[0]);
          let seen = 0;
          let p5 = sorted[0]![0];
          for (const [day, n] of sorted) {
            seen += n;
            if (seen >= total * 0.05) {
              p5 = day;
              break;
            }
          }
          // whole days, so that the count from the day histogram and the listed ids agree
          const cutoff = Math.floor((p5 * DAY - OLD_GAP_MS) / DAY) * DAY;
          let old = 0;
          for (const [day, n] of sorted) if (day * DAY < cutoff) old += n;
          if (old > 0) {
            const ids = oldest.filter((o) => o.ts < cutoff).map((o) => o.id);
            out.push({
              ...kindOf(clockSkew),
              title: `${plural(old, "event")} far older than the rest of the queue`,
              evidence: `the oldest at ${iso(oldest[0]!.ts)}; 95% of the queue is from ${iso(p5 * DAY)} on: a clock behind, or an old export replayed`,
              eventIds: ids,
              moreEvents: old - ids.length,
              fix: ctx.fix.dryRun(ids),
            });
          }
        }
        return out;
      },
    };
  },
);
