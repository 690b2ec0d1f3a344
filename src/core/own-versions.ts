/**
 * The versions of each row that this engine's own applied edits wrote, kept per client as one run
 * (lo, hi]: every version after lo up to hi came from that client. A later edit of the same client
 * made on a version inside the run was made before those edits landed (they were still pending in
 * its view), so it is sent as made on hi instead of conflicting with the client's own writes.
 * A write by anyone else breaks the run. Memory only: after a restart such an edit conflicts and
 * its strategy decides, as before.
 */
import { rowKey, type QueuedEvent } from "./event.ts";

const MAX_ROWS = 100_000;

export class OwnVersions {
  private readonly runs = new Map<string, { lo: number; hi: number }>();

  private key(e: Pick<QueuedEvent, "entity" | "entityId" | "clientId">): string | undefined {
    return e.clientId === undefined ? undefined : `${e.clientId}\u0000${rowKey(e)}`;
  }

  /** The event was applied and wrote `version` of its row. */
  record(e: Pick<QueuedEvent, "entity" | "entityId" | "clientId">, version: number): void {
    const k = this.key(e);
    if (k === undefined) return;
    const run = this.runs.get(k);
    if (run && run.hi === version - 1) run.hi = version;
    else if (!run || run.hi < version) {
      this.runs.delete(k); // re-inserted last: the map's order is the eviction order
      this.runs.set(k, { lo: version - 1, hi: version });
      if (this.runs.size > MAX_ROWS) this.runs.delete(this.runs.keys().next().value!);
    }
  }

  /** The version to send the event as made on: its own, or the end of its client's run. */
  baseFor(e: Pick<QueuedEvent, "entity" | "entityId" | "clientId" | "baseVersion">): number | undefined {
    if (e.baseVersion === undefined) return undefined;
    const k = this.key(e);
    const run = k === undefined ? undefined : this.runs.get(k);
    return run && e.baseVersion >= run.lo && e.baseVersion < run.hi ? run.hi : e.baseVersion;
  }
}
