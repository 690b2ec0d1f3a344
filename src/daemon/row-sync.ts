/**
 * What the daemon does with a realtime row change: invalidates the cache entries of that row
 * (the app's key of the row, see core/cache-keys.ts, and the keys under it) and, when optimistic
 * edits are layered on the row (under the same key), confirms the server's state
 * (read back through the sink) so committed edits fold in and pending ones are re-applied on top.
 * A failure here is logged and never stops the feed.
 */
import type { TtlCache } from "../core/cache.ts";
import { rowCacheKey } from "../core/cache-keys.ts";
import type { OptimisticStateManager } from "../core/optimistic.ts";
import type { RowChange, Sink } from "../core/ports.ts";
import type { DaemonLogger } from "./logger.ts";

export interface RowSyncDeps {
  cache?: TtlCache;
  optimistic: OptimisticStateManager;
  sink: Pick<Sink, "getRow">;
  logger: DaemonLogger;
}

export function rowSync(deps: RowSyncDeps): (change: RowChange) => Promise<void> | void {
  return (change) => {
    const key = rowCacheKey(change.entity, change.id);
    // the common case on a busy feed: nothing cached, no edit layered on the row
    if (!deps.cache && deps.optimistic.pending(key).length === 0) {
      if (deps.logger.isLevelEnabled("debug")) {
        deps.logger.debug({ event: "row_change", ...change, invalidated: 0, confirmed: false }, "row changed on the server");
      }
      return;
    }
    return sync(deps, change, key);
  };
}

async function sync(deps: RowSyncDeps, change: RowChange, key: string): Promise<void> {
  try {
    const invalidated = deps.cache ? await deps.cache.invalidateRow(change.entity, change.id) : 0;
    let confirmed = false;
    if (deps.optimistic.pending(key).length > 0) {
      const row = change.op === "delete" ? null : await deps.sink.getRow(change.entity, change.id);
      deps.optimistic.confirm(key, row?.data, row?.version ?? change.version);
      confirmed = true;
    }
    deps.logger.debug({ event: "row_change", ...change, invalidated, confirmed }, "row changed on the server");
  } catch (err) {
    deps.logger.warn({ event: "row_change_failed", key, err: String(err) }, "could not apply a row change");
  }
}
