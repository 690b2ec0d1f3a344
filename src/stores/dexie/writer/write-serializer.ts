/**
 * Runs the store's writes one at a time, in call order, so Dexie, the in-memory indexes and the
 * write-ahead log see the same sequence. A job's apply step runs alone; its caller is answered
 * once the job's log lines are durable, while the next job already applies (pipelining under the
 * log's group commit). While an atomic group is open only jobs of that group run; others wait.
 * Consecutive mergeable jobs (enqueues) of one group are applied together, so concurrent
 * callers share one Dexie transaction and one log record.
 */

/** What an apply step produced: per-item values and the promise of their durability. */
export interface Applied<T> {
  values: T[];
  durable: Promise<void>;
}

interface Job {
  tx: string | undefined;
  mergeKey?: string;
  item: unknown;
  apply(items: unknown[]): Promise<Applied<unknown>>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export class WriteSerializer {
  private readonly queue: Job[] = [];
  private applying = false;
  private moves = 0;
  /** the atomic group that owns the store, if any */
  private owner: string | undefined;

  /** Queues a job applying one item. */
  submit<T>(tx: string | undefined, apply: () => Promise<{ value: T; durable: Promise<void> }>): Promise<T> {
    return this.push<undefined, T>(tx, undefined, undefined, async () => {
      const r = await apply();
      return { values: [r.value], durable: r.durable };
    });
  }

  /** Queues an item that is applied together with neighbouring items of the same key. */
  submitMerged<I, T>(tx: string | undefined, mergeKey: string, item: I, apply: (items: I[]) => Promise<Applied<T>>): Promise<T> {
    return this.push(tx, mergeKey, item, apply);
  }

  private push<I, T>(
    tx: string | undefined,
    mergeKey: string | undefined,
    item: I,
    apply: (items: I[]) => Promise<Applied<T>>,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        tx,
        mergeKey,
        item,
        apply: apply as Job["apply"],
        resolve: resolve as Job["resolve"],
        reject,
      });
      this.pump();
    });
  }

  /** Gives the store to an atomic group (undefined: to everyone). */
  setOwner(tx: string | undefined): void {
    this.owner = tx;
    this.pump();
  }

  /** moves whenever a job starts or ends applying (readers use it to tell that no write overlapped them) */
  get epoch(): number {
    return this.moves;
  }

  /** a job is applying */
  get running(): boolean {
    return this.applying;
  }

  private pump(): void {
    if (this.applying) return;
    const i = this.queue.findIndex((j) => this.owner === undefined || j.tx === this.owner);
    if (i < 0) return;
    const batch = this.queue.splice(i, 1);
    const head = batch[0]!;
    if (head.mergeKey !== undefined) {
      while (i < this.queue.length && this.queue[i]!.mergeKey === head.mergeKey && this.queue[i]!.tx === head.tx) {
        batch.push(this.queue.splice(i, 1)[0]!);
      }
    }
    this.applying = true;
    this.moves++;
    head
      .apply(batch.map((j) => j.item))
      .then(
        ({ values, durable }) => {
          durable.then(
            () => batch.forEach((j, k) => j.resolve(values[k])),
            (e: unknown) => batch.forEach((j) => j.reject(e)),
          );
        },
        (e: unknown) => batch.forEach((j) => j.reject(e)),
      )
      .finally(() => {
        this.applying = false;
        this.moves++;
        this.pump();
      });
  }

  /** true when nothing is queued or running */
  get idle(): boolean {
    return !this.applying && this.queue.length === 0;
  }
}
