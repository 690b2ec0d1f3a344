/**
 * `mudsync top --store DIR` and `--queue URL` without a daemon: the dashboard over the read side of
 * a queue (QueueReader), read-only. A store is opened in read mode (no lock, nothing written, so
 * killing top can never harm it) and opened again only when its files changed; the shared queue is
 * read in one read-only transaction per refresh. Only counts and one page are read per refresh.
 */
import type { QueueReader } from "../../core/ports.ts";
import { EventNotFoundError } from "../../errors.ts";
import type { FindingsState, PageRequest, SourceKind, TopAction, TopSnapshot, TopSource } from "../../tui/top/model.ts";
import { zeroCounts } from "../../daemon/queue-watch.ts";

export interface ReaderHandle {
  reader: QueueReader;
  /** makes the next reads see the queue as it is now */
  refresh(): Promise<void>;
}

export class ReaderSource implements TopSource {
  private handle: ReaderHandle | undefined;
  /** one read at a time: a refresh reopens the store, which must not race another read or refresh */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly kind: Exclude<SourceKind, "daemon">,
    readonly label: string,
    readonly readOnly: string,
    private readonly open: () => Promise<ReaderHandle>,
    /** the doctor over the same queue */
    readonly diagnose?: () => Promise<FindingsState>,
  ) {}

  private async reader(): Promise<QueueReader> {
    if (!this.handle) this.handle = await this.open();
    else await this.handle.refresh();
    return this.handle.reader;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  snapshot(request: PageRequest): Promise<Omit<TopSnapshot, "findings">> {
    return this.serial(() => this.read(request));
  }

  private async read(request: PageRequest): Promise<Omit<TopSnapshot, "findings">> {
    const reader = await this.reader();
    const { statuses, entity, order } = request.filter;
    const [counts, page, oldest] = await Promise.all([
      reader.counts(),
      reader.list({
        limit: request.limit,
        order,
        ...(statuses ? { statuses } : {}),
        ...(entity !== undefined ? { entity } : {}),
        ...(request.after !== undefined ? { after: request.after } : {}),
      }),
      reader.list({ statuses: ["pending"], limit: 1, order: "asc" }),
    ]);
    const at = Date.now();
    const first = oldest.events[0];
    return {
      source: { kind: this.kind, label: this.label, readOnly: true },
      at,
      counts: { ...zeroCounts(), ...counts },
      oldestPending: first ? { id: first.id, ageMs: Math.max(0, at - first.timestamp) } : null,
      daemon: null,
      throughput: null,
      inFlight: null,
      changes: null,
      conflicts: null,
      page: { events: page.events, next: page.next, after: request.after ?? null },
    };
  }

  event(id: string) {
    return this.serial(async () => {
      const reader = this.handle?.reader ?? (await this.reader());
      const event = await reader.get(id);
      if (!event) throw new EventNotFoundError(id);
      return { event, history: await reader.history(id) };
    });
  }

  async act(_action: TopAction): Promise<string> {
    return `unavailable: ${this.readOnly}`;
  }

  close(): Promise<void> {
    return this.serial(async () => {
      await this.handle?.reader.close();
      this.handle = undefined;
    });
  }
}
