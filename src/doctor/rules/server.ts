/**
 * Checks against the server (with --db): events the server applied whose local copy never heard
 * so (an answer lost after the commit), and edits made against a row version the server has
 * since moved past, which will conflict when they are sent.
 */
import type { QueuedEvent } from "../../core/event.ts";
import { IdSample } from "../id-sample.ts";
import { plural, type RuleContext, defineRule, type ServerFacts, kindOf, listed } from "../rule.ts";

export const appliedNotCompleted = defineRule(
  "applied-not-completed",
  "warning",
  "(--db) events already in mudsync.applied_events but not completed locally: safe to mark completed (a replay is answered as a duplicate)",
  (ctx) => {
    const ids = new IdSample(ctx.sampleSize);
    const statuses = new Map<string, number>();
    return {
      observe(e: QueuedEvent, server: ServerFacts | undefined) {
        if (!server?.applied || e.status === "completed") return;
        ids.add(e.id);
        statuses.set(e.status, (statuses.get(e.status) ?? 0) + 1);
      },
      findings() {
        if (ids.count === 0) return [];
        const by = [...statuses.entries()].map(([s, n]) => `${n} ${s}`).join(", ");
        return [{
          ...kindOf(appliedNotCompleted),
          title: `${plural(ids.count, "event")} applied on the server but not completed here`,
          evidence:
            `${ctx.server?.label ?? "the server"} recorded them in applied_events; here they are ${by}. ` +
            'Sending them again is answered "duplicate" and marks them completed',
          ...listed(ids),
          fix: ctx.fix.replay({ ids: ids.more === 0 ? ids.ids : undefined, statuses: [...statuses.keys()] }),
        }];
      },
    };
  },
);

export const staleBaseVersion = defineRule(
  "stale-base-version",
  "warning",
  "(--db) unfinished events whose baseVersion is older than the server row's version: conflicts waiting to happen",
  (ctx) => {
    const ids = new IdSample(ctx.sampleSize);
    let maxBehind = 0;
    return {
      observe(e: QueuedEvent, server: ServerFacts | undefined) {
        if (e.status === "completed" || e.status === "dead" || server?.applied) return;
        if (e.baseVersion === undefined || server?.rowVersion == null || e.baseVersion >= server.rowVersion) return;
        ids.add(e.id);
        maxBehind = Math.max(maxBehind, server.rowVersion - e.baseVersion);
      },
      findings() {
        if (ids.count === 0) return [];
        return [{
          ...kindOf(staleBaseVersion),
          title: `${plural(ids.count, "event")} edited against an older version of their row`,
          evidence:
            `their baseVersion is behind the row on ${ctx.server?.label ?? "the server"} by up to ${plural(maxBehind, "version")}: ` +
            "each conflicts when sent, and the strategy decides (manual parks it for a person)",
          ...listed(ids),
          fix: ctx.fix.queue("drain --strategy merge"),
        }];
      },
    };
  },
);
