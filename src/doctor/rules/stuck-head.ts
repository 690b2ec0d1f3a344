/**
 * The head of the queue (its oldest unsettled event) has not moved for longer than `stuckAfterMs`,
 * as a running daemon sees it (GET /v1/status `head.sinceMs`). Only a process that watches the
 * queue over time knows how long the head has been the head: without a daemon's status this check
 * is not made. A paused daemon holds the head on purpose.
 */
import { formatDuration } from "../../core/format-duration.ts";
import { kindOf, type RuleContext, defineRule } from "../rule.ts";

export const stuckHead = defineRule(
  "stuck-head",
  "warning",
  "(running daemon) the head of the queue has not moved for longer than stuckAfterMs",
  (ctx) => {
    return {
      findings() {
        const d = ctx.daemon;
        const head = d?.head;
        if (!d || !head || d.paused || head.sinceMs <= ctx.stuckAfterMs) return [];
        return [{
          ...kindOf(stuckHead),
          title: `the head of the queue has not moved for ${formatDuration(head.sinceMs)}`,
          evidence:
            `the daemon${d.control ? ` at ${d.control}` : ""} has had event ${head.id} (${head.status}) at the head for ` +
            `${formatDuration(head.sinceMs)}, longer than stuckAfterMs (${formatDuration(ctx.stuckAfterMs)})`,
          eventIds: [head.id],
          moreEvents: 0,
          fix: ctx.fix.replay({ ids: [head.id] }),
        }];
      },
    };
  },
);
