/**
 * An in-memory TopSource for the view tests: a list of events paged by position (the cursor is
 * the index as text), counts from the events, every request and action recorded.
 */
import { EVENT_STATUSES, type EventStatus, type QueuedEvent } from "../../src/core/event.ts";
import type { EventDetail, FindingsState, PageRequest, TopAction, TopSnapshot, TopSource } from "../../src/tui/top/model.ts";
import { makeEvent } from "../helpers/fakes.ts";

export class FakeTopSource implements TopSource {
  readonly kind = "daemon" as const;
  readonly label = "fake";
  readonly requests: PageRequest[] = [];
  readonly actions: TopAction[] = [];
  paused = false;
  failNext: string | undefined;
  findings: FindingsState | undefined;
  extra: Partial<Omit<TopSnapshot, "findings">> = {};

  constructor(
    public events: QueuedEvent[],
    readonly readOnly: string | undefined = undefined,
  ) {}

  async snapshot(request: PageRequest): Promise<Omit<TopSnapshot, "findings">> {
    this.requests.push(request);
    if (this.failNext) {
      const message = this.failNext;
      this.failNext = undefined;
      throw new Error(message);
    }
    let list = this.events.filter((e) => (!request.filter.statuses || request.filter.statuses.includes(e.status)) && (request.filter.entity === undefined || e.entity === request.filter.entity));
    if (request.filter.order === "desc") list = [...list].reverse();
    const start = request.after === undefined ? 0 : Number(request.after);
    const page = list.slice(start, start + request.limit);
    const counts = Object.fromEntries(EVENT_STATUSES.map((s) => [s, this.events.filter((e) => e.status === s).length])) as Record<EventStatus, number>;
    return {
      source: { kind: "daemon", label: "fake", readOnly: this.readOnly !== undefined },
      at: 1_700_000_100_000,
      counts,
      oldestPending: null,
      daemon: this.readOnly
        ? null
        : { pid: 42, paused: this.paused, draining: false, uptimeMs: 5000, settled: 0, applied: 0, retried: 0, dead: 0, eventsPerSec: 0, lastBatchAt: null, head: null },
      throughput: null,
      inFlight: [],
      changes: [],
      conflicts: { open: 0, more: false },
      page: { events: page, next: start + request.limit < list.length ? String(start + request.limit) : null, after: request.after ?? null },
      ...this.extra,
    };
  }

  async event(id: string): Promise<EventDetail> {
    const event = this.events.find((e) => e.id === id);
    if (!event) throw new Error(`no event with id ${id} in the store`);
    return { event, history: [{ eventId: id, at: 1_700_000_000_000, from: "pending", to: event.status, note: "drain" }] };
  }

  async diagnose(): Promise<FindingsState> {
    return this.findings ?? { at: 0, findings: [], healthy: true };
  }

  async act(action: TopAction): Promise<string> {
    this.actions.push(action);
    if (action.kind === "pause") this.paused = true;
    if (action.kind === "resume") this.paused = false;
    return `did ${action.kind}`;
  }

  async close(): Promise<void> {}
}

/** `count` events e00, e01 … queued one second apart, statuses cycling through `statuses`. */
export function someEvents(count: number, statuses: EventStatus[] = ["pending"]): QueuedEvent[] {
  return Array.from({ length: count }, (_, i) =>
    makeEvent({
      id: `e${String(i).padStart(2, "0")}`,
      entity: i % 2 ? "curve" : "well",
      entityId: `r${i}`,
      timestamp: 1_700_000_000_000 + i * 1000,
      status: statuses[i % statuses.length]!,
      ...(statuses[i % statuses.length] === "failed" ? { lastError: `boom ${i}` } : {}),
    }),
  );
}

/** Lets React and Ink process input and pending promises. */
export const tick = (ms = 80) => new Promise((r) => setTimeout(r, ms));

/** Waits until `frame()` satisfies `ok` (or fails after ~2 s with the last frame). */
export async function until(frame: () => string | undefined, ok: (f: string) => boolean): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const f = frame() ?? "";
    if (ok(f)) return f;
    await tick(20);
  }
  throw new Error(`screen never matched; last frame:\n${frame() ?? ""}`);
}
