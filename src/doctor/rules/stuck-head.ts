/**
 * The head of the queue (its oldest unsettled event) has not moved for longer than `stuckAfterMs`,
 * as a running daemon sees it (GET /v1/status `head.sinceMs`). Only a process that watches the
 * queue over time knows how long the head has been the head: without a daemon's status this check
 * is not made. A paused daemon holds the head on purpose.
 */
import { formatDuration } from "../../core/format-duration.ts";
import type { RuleContext, RuleSpec } from "../rule.ts";

export const stuckHead: RuleSpec = {
  kind: "stuck-head",
  severity: "warning",
  summary: "(running daemon) the head of the queue has not moved for longer than stuckAfterMs",
  create(ctx: RuleContext) {
    return {
      findings() {
        const d = ctx.daemon;
        const head = d?.head;
        if (!d || !head || d.paused || head.sinceMs <= ctx.stuckAfterMs) return [];
        return [{
          kind: stuckHead.kind,
          severity: stuckHead.severity,
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
};
