/**
 * Progress of long-running queue commands on stderr: NDJSON lines with --json (one per phase step,
 * throttled), an Ink progress bar when stderr is a terminal, nothing otherwise.
 */
import { progressWriter } from "./output.ts";

export interface ProgressEvent {
  phase: string;
  done: number;
  total?: number;
  unit: string;
}

export interface Progress {
  update(event: ProgressEvent): void;
  /** always reports the final state of a phase */
  finish(event: ProgressEvent): void;
}

export function createProgress(json: boolean, stream: NodeJS.WriteStream = process.stderr, intervalMs = 200): Progress {
  const ndjson = progressWriter(json, stream);
  const tty = !json && Boolean(stream.isTTY);
  // on a terminal: an Ink bar, loaded lazily so commands without progress stay fast to start
  let bar: ReturnType<typeof import("../../tui/progress-bar.tsx").mountProgressBar> | undefined;
  let latest: ProgressEvent | undefined;
  if (tty) {
    void import("../../tui/progress-bar.tsx").then((m) => {
      bar = m.mountProgressBar(stream);
      if (latest) bar.update(latest);
    });
  }
  let last = 0;
  const show = (e: ProgressEvent, final: boolean) => {
    if (json) {
      ndjson({ phase: e.phase, done: e.done, ...(e.total !== undefined ? { total: e.total } : {}), unit: e.unit, final });
    } else if (tty) {
      latest = e;
      if (bar) {
        bar.update(e);
        if (final) bar.done();
      } else if (final) {
        stream.write(`${e.phase}: ${e.done}${e.total ? `/${e.total}` : ""} ${e.unit}\n`);
      }
    }
  };
  return {
    update(e) {
      const now = Date.now();
      if (now - last < intervalMs) return;
      last = now;
      show(e, false);
    },
    finish(e) {
      last = 0;
      show(e, true);
    },
  };
}
