/**
 * Progress of long-running queue commands on stderr: NDJSON lines with --json (one per phase step,
 * throttled), a single rewritten line when stderr is a terminal, nothing otherwise.
 */
import { progressWriter } from "../shared/output.ts";

export interface Progress {
  update(event: { phase: string; done: number; total?: number; unit: string }): void;
  /** always reports the final state of a phase */
  finish(event: { phase: string; done: number; total?: number; unit: string }): void;
}

export function createProgress(json: boolean, stream: NodeJS.WriteStream = process.stderr, intervalMs = 200): Progress {
  const ndjson = progressWriter(json, stream);
  const tty = !json && Boolean(stream.isTTY);
  let last = 0;
  let open = false;
  const show = (e: { phase: string; done: number; total?: number; unit: string }, final: boolean) => {
    if (json) {
      ndjson({ phase: e.phase, done: e.done, ...(e.total !== undefined ? { total: e.total } : {}), unit: e.unit, final });
    } else if (tty) {
      const pct = e.total ? ` ${Math.floor((e.done / e.total) * 100)}%` : "";
      stream.write(`\r\x1b[2K${e.phase}: ${e.done}${e.total ? `/${e.total}` : ""} ${e.unit}${pct}`);
      open = !final;
      if (final) stream.write("\n");
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
      if (open) stream.write("\n");
    },
  };
}
