/**
 * Checks of the event lifecycle: events left in `processing` by a crashed worker or tab, failed
 * events that the seed's client never retries, and retries bunched onto one instant.
 */
import type { QueuedEvent } from "../../core/event.ts";
import { ownString } from "../../io/own-string.ts";
import { IdSample } from "../id-sample.ts";
import { iso, plural, type RuleContext, defineRule, kindOf, listed } from "../rule.ts";

export const stuckProcessing = defineRule(
  "stuck-processing",
  "error",
  "events in processing with no lease or an expired one (a crashed sync, or a browser tab that died mid-batch)",
  (ctx) => {
    const ids = new IdSample(ctx.sampleSize);
    let noLease = 0;
    let oldestLease = Infinity;
    return {
      observe(e: QueuedEvent) {
        if (e.status !== "processing") return;
        if (e.leaseUntil === undefined) noLease++;
        else if (e.leaseUntil < ctx.now) oldestLease = Math.min(oldestLease, e.leaseUntil);
        else return;
        ids.add(e.id);
      },
      findings() {
        if (ids.count === 0) return [];
        const expired = ids.count - noLease;
        return [{
          ...kindOf(stuckProcessing),
          title: `${plural(ids.count, "event")} stuck in processing`,
          evidence:
            `${noLease} without a lease, ${expired} with a lease that expired` +
            (expired > 0 ? ` (the earliest at ${iso(oldestLease)})` : "") +
            "; no worker holds them, and a client that reads only pending events never sends them again",
          ...listed(ids),
          fix: ctx.fix.replay({ statuses: ["processing"] }),
        }];
      },
    };
  },
);

export const failedNeverRetried = defineRule(
  "failed-never-retried",
  "warning",
  "failed events with no next attempt time: a client of the seed's sketch reads only pending events and never retries them",
  (ctx) => {
    const ids = new IdSample(ctx.sampleSize);
    const byRetries = new Map<number, number>();
    return {
      observe(e: QueuedEvent) {
        if (e.status !== "failed" || e.nextAttemptAt !== undefined) return;
        ids.add(e.id);
        byRetries.set(e.retryCount, (byRetries.get(e.retryCount) ?? 0) + 1);
      },
      findings() {
        if (ids.count === 0) return [];
        const counts = [...byRetries.entries()].sort((a, b) => a[0] - b[0]).map(([r, n]) => `${n} at ${r}`).join(", ");
        return [{
          ...kindOf(failedNeverRetried),
          title: `${plural(ids.count, "failed event")} that will never be retried`,
          evidence:
            `no nextAttemptAt on any of them, retry counts stuck (${counts}); the seed's sync loop reads only ` +
            "pending events, so a failed event stays failed",
          ...listed(ids),
          fix: ctx.fix.replay({ statuses: ["failed"] }),
        }];
      },
    };
  },
);

/** Retry counts from which a retry is "late" in its backoff. */
export const STORM_RETRIES = 3;
/** Events due in the same window that make a storm. */
export const STORM_EVENTS = 20;
/** Width of the window of next attempts. */
export const STORM_WINDOW_MS = 1000;
/** Windows kept at most (a queue whose retries spread wider than this is no storm). */
const MAX_WINDOWS = 100_000;

export const backoffStorm = defineRule(
  "backoff-storm",
  "warning",
  `at least ${STORM_EVENTS} events with retryCount >= ${STORM_RETRIES} whose next attempts fall within one second: they all retry, and fail, together`,
  (ctx) => {
    const windows = new Map<number, { n: number; ids: string[] }>();
    let late = 0;
    return {
      observe(e: QueuedEvent) {
        if (e.status !== "failed" || e.retryCount < STORM_RETRIES || e.nextAttemptAt === undefined) return;
        late++;
        const w = Math.floor(e.nextAttemptAt / STORM_WINDOW_MS);
        let slot = windows.get(w);
        if (!slot) {
          if (windows.size >= MAX_WINDOWS) return;
          windows.set(w, (slot = { n: 0, ids: [] }));
        }
        slot.n++;
        if (slot.ids.length < ctx.sampleSize) slot.ids.push(ownString(e.id));
      },
      findings() {
        let best: { w: number; n: number; ids: string[] } | undefined;
        for (const [w, slot] of windows) {
          // a bunch may straddle a window edge: count each window with its successor
          const next = windows.get(w + 1);
          const n = slot.n + (next?.n ?? 0);
          if (!best || n > best.n || (n === best.n && w < best.w)) {
            best = { w, n, ids: [...slot.ids, ...(next?.ids ?? [])].slice(0, ctx.sampleSize) };
          }
        }
        if (!best || best.n < STORM_EVENTS) return [];
        return [{
          ...kindOf(backoffStorm),
          title: `backoff storm: ${plural(best.n, "event")} retry within ${(2 * STORM_WINDOW_MS) / 1000} s of each other`,
          evidence:
            `${best.n} of ${late} failed events with retryCount >= ${STORM_RETRIES} are due at ` +
            `${iso(best.w * STORM_WINDOW_MS)} (+${(2 * STORM_WINDOW_MS) / 1000} s): backoff without jitter sends them ` +
            "together again, and they fail together again",
          eventIds: best.ids,
          moreEvents: best.n - best.ids.length,
          fix: ctx.fix.replay({ statuses: ["failed"] }),
        }];
      },
    };
  },
);
