/**
 * Runs the store's writes one at a time, in call order, so Dexie, the in-memory indexes and the
 * write-ahead log see the same sequence. While an atomic group is open only jobs of that group
 * run; others wait until it commits or rolls back. Consecutive jobs of the same group that are
 * `mergeable` (enqueues) are handed over together so that concurrent callers share one Dexie
 * transaction and one log record.
 */

export interface Job<T = unknown> {
  tx: string | undefined;
  /** jobs with the same merge key that sit next to each other in the queue run as one batch */
  mergeKey?: string;
  run(batch: Job[]): Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export class WriteSerializer {
  private readonly queue: Job[] = [];
  private running = false;
  /** the atomic group that owns the store, if any */
  activeTx: string | undefined;

  /** Queues a job; resolves with what its run returns. */
  submit<T>(tx: string | undefined, run: (batch: Job[]) => Promise<T>, mergeKey?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ tx, run, resolve, reject, mergeKey } as Job);
      this.pump();
    });
  }

  /** Queues a job that merges with neighbours of the same key; run receives the whole batch. */
  submitMergeable<T>(tx: string | undefined, mergeKey: string, job: Omit<Job<T>, "tx" | "mergeKey">): void {
    this.queue.push({ ...job, tx, mergeKey } as Job);
    this.pump();
  }

  /** Call after changing activeTx so waiting jobs get a turn. */
  pump(): void {
    if (this.running) return;
    const i = this.queue.findIndex((j) => this.activeTx === undefined || j.tx === this.activeTx);
    if (i < 0) return;
    const [head] = this.queue.splice(i, 1) as [Job];
    const batch = [head];
    if (head.mergeKey !== undefined) {
      while (i < this.queue.length && this.queue[i]!.mergeKey === head.mergeKey && this.queue[i]!.tx === head.tx) {
        batch.push(this.queue.splice(i, 1)[0]!);
      }
    }
    this.running = true;
    head
      .run(batch)
      .then(
        (v) => head.resolve(v),
        (e) => {
          for (const j of batch) j.reject(e);
        },
      )
      .finally(() => {
        this.running = false;
        this.pump();
      });
  }

  get idle(): boolean {
    return !this.running && this.queue.length === 0;
  }
}
