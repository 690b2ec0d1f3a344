/**
 * `mudsync top --daemon`: the dashboard over a daemon's control API. Reads are GET /v1/status,
 * /v1/activity, /v1/events (one page) and /v1/event; the keys that act are the routes `queue
 * replay` and `queue drain` use (POST /v1/retry, /v1/drain-now, /v1/pause, /v1/resume), so the
 * dashboard can do nothing the API does not allow.
 */
import type { EventStatus } from "../../core/event.ts";
import type { DaemonActivity, DaemonStatus, DrainNowResult, EventDetail, EventsPage, RetryResult } from "../../daemon/control-api.ts";
import { type FindingsState, type PageRequest, RETRY_ALL_STATUSES, type TopAction, type TopSnapshot, type TopSource } from "../../tui/top/model.ts";
import type { ControlClient } from "../shared/control-client.ts";
import type { DaemonHeadStatus, DoctorSource } from "../../doctor/types.ts";

export class DaemonSource implements TopSource {
  readonly kind = "daemon";
  readonly readOnly = undefined;
  /** the last status read, for the doctor's stuck-head check */
  lastStatus: DaemonStatus | undefined;

  constructor(
    private readonly client: ControlClient,
    /** for drain-now, which answers only when its pass ends */
    private readonly slowClient: ControlClient,
    /** runs the doctor over the daemon's store (see findings.ts); the status says where it is */
    private readonly doctor?: (status: DaemonStatus) => { source: DoctorSource; head: DaemonHeadStatus } | string,
    private readonly runDoctor?: (source: DoctorSource, head: DaemonHeadStatus) => Promise<FindingsState>,
  ) {}

  async diagnose(): Promise<FindingsState> {
    const status = this.lastStatus ?? (await this.client.get<DaemonStatus>("/v1/status"));
    const target = this.doctor?.(status) ?? "the doctor is not available here";
    if (typeof target === "string" || !this.runDoctor) return { at: Date.now(), findings: [], healthy: false, error: typeof target === "string" ? target : "not available" };
    return this.runDoctor(target.source, target.head);
  }

  get label(): string {
    return this.client.address;
  }

  async snapshot(request: PageRequest): Promise<Omit<TopSnapshot, "findings">> {
    // /v1/activity, not /v1/status: it never waits for a fresh count behind a drain in flight
    const [activity, page] = await Promise.all([
      this.client.get<DaemonActivity>("/v1/activity"),
      this.client.get<EventsPage>(`/v1/events?${listParams(request)}`),
    ]);
    const status = activity.status;
    this.lastStatus = status;
    const at = Date.now();
    const e = status.engine;
    return {
      source: { kind: "daemon", label: `${this.client.address} (${status.store})`, readOnly: false },
      at,
      counts: page.counts,
      oldestPending: status.oldestPending,
      daemon: {
        pid: status.pid,
        paused: status.paused,
        draining: status.draining,
        uptimeMs: status.uptimeMs,
        settled: e.settled,
        applied: e.applied,
        retried: e.retried,
        dead: e.dead,
        eventsPerSec: e.eventsPerSec,
        lastBatchAt: status.lastBatchAt,
        head: status.head,
      },
      throughput: activity.throughput,
      inFlight: activity.inFlight,
      changes: activity.changes,
      conflicts: activity.conflictsOpen === null ? null : { open: activity.conflictsOpen, more: activity.conflictsMore },
      page: { events: page.events, next: page.next, after: request.after ?? null },
    };
  }

  event(id: string): Promise<EventDetail> {
    return this.client.get<EventDetail>(`/v1/event?id=${encodeURIComponent(id)}`);
  }

  async act(action: TopAction): Promise<string> {
    switch (action.kind) {
      case "retry":
      case "retry-failed": {
        const body = action.kind === "retry" ? { ids: action.ids } : { statuses: RETRY_ALL_STATUSES };
        const r = await this.client.post<RetryResult>("/v1/retry", body);
        const skipped = r.skipped.length > 0 ? `; skipped ${r.skipped.map((s) => `${s.id} (${s.reason})`).slice(0, 3).join(", ")}` : "";
        return `moved ${r.moved} back to pending${skipped}`;
      }
      case "drain": {
        const r = await this.slowClient.post<DrainNowResult>("/v1/drain-now");
        if (r.paused) return "the daemon is paused: no pass ran (p resumes it)";
        return `drain pass settled ${r.settled}; left ${describeLeft(r.left)}`;
      }
      case "pause":
        await this.client.post("/v1/pause");
        return "paused: no new claims until resumed";
      case "resume":
        await this.client.post("/v1/resume");
        return "resumed";
    }
  }

  async close(): Promise<void> {}
}

export function listParams(request: PageRequest): string {
  const p = new URLSearchParams({ limit: String(request.limit), order: request.filter.order === "asc" ? "oldest" : "newest" });
  if (request.filter.statuses) p.set("status", request.filter.statuses.join(","));
  if (request.filter.entity !== undefined) p.set("entity", request.filter.entity);
  if (request.after !== undefined) p.set("after", request.after);
  return p.toString();
}

function describeLeft(left: Record<EventStatus, number>): string {
  return (
    Object.entries(left)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${s} ${n}`)
      .join(", ") || "nothing"
  );
}
