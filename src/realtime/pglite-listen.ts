/**
 * Change feed over an in-process PGlite's `listen()` on `<schema>_changes`. PGlite is one session
 * in this process, so this only sees changes made through the same PGlite instance; other
 * processes cannot reach it (use the real server for cross-process feeds).
 */
import type { ChangeFeed, RowChange } from "../core/ports.ts";
import { changesChannel, parseChangePayload } from "./change-payload.ts";

/** The part of PGlite this feed uses. */
export interface PgliteListener {
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
}

export interface PgliteListenFeedOptions {
  schema: string;
  onProblem?: (message: string) => void;
}

export class PgliteListenFeed implements ChangeFeed {
  readonly channel: string;

  constructor(
    private readonly db: PgliteListener,
    private readonly options: PgliteListenFeedOptions,
  ) {
    this.channel = changesChannel(options.schema);
  }

  async subscribe(onChange: (change: RowChange) => void): Promise<() => Promise<void>> {
    const unlisten = await this.db.listen(this.channel, (payload) => {
      const parsed = parseChangePayload(payload);
      if (parsed.ok) onChange(parsed.change);
      else this.options.onProblem?.(parsed.reason);
    });
    return () => unlisten();
  }
}
