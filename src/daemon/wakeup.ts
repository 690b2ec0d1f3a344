/**
 * A latch the daemon's loop sleeps on: `notify()` wakes the sleeper at once (or makes its next
 * `wait` return immediately), a timeout or an abort ends the wait too. Notifications that arrive
 * while nobody waits are kept as one pending wake-up, never lost.
 */
export class Wakeup {
  private pending = false;
  private wake: (() => void) | undefined;

  notify(): void {
    this.pending = true;
    this.wake?.();
  }

  /** True when a notification is waiting to be consumed. */
  get isPending(): boolean {
    return this.pending;
  }

  /** Resolves true when woken by notify(), false on timeout or abort. Consumes the notification. */
  wait(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (this.pending || signal?.aborted) {
      const woke = this.pending;
      this.pending = false;
      return Promise.resolve(woke);
    }
    return new Promise((resolve) => {
      const finish = (woke: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.wake = undefined;
        if (woke) this.pending = false;
        resolve(woke);
      };
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(false), ms);
      this.wake = () => finish(true);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
