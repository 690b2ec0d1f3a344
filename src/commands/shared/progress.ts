/**
 * Progress of long-running commands on stderr: NDJSON lines with --json (throttled, each with the
 * rate and ETA when known), an Ink progress bar with rate and ETA when the output is a terminal,
 * and nothing otherwise, so that a piped command prints only its result.
 */
import { RateMeter, rateFields, type RateEstimate } from "../../core/rate-meter.ts";
import { progressWriter } from "./output.ts";
import { rateAndEta } from "../../tui/progress-text.ts";

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

/**
 * `output`: the command's context (`json`, and `tty`: stdout is a terminal). The bar is drawn only
 * when stdout and stderr are both terminals, so that a piped command prints only its result.
 */
export function createProgress(output: { json: boolean; tty: boolean }, stream: NodeJS.WriteStream = process.stderr, intervalMs = 200): Progress {
  const json = output.json;
  const ndjson = progressWriter(json, stream);
  const tty = !json && Boolean(stream.isTTY) && output.tty;
  // on a terminal: an Ink bar, loaded lazily so commands without progress stay fast to start
  let bar: ReturnType<typeof import("../../tui/progress-bar.tsx").mountProgressBar> | undefined;
  let latest: (ProgressEvent & RateEstimate) | undefined;
  if (tty) {
    void import("../../tui/progress-bar.tsx").then((m) => {
      bar = m.mountProgressBar(stream);
      if (latest) bar.update(latest);
    });
  }
  // one meter per stretch of work: a new unit or total, or a count that starts again, starts the
  // rate afresh (a phase's label may change as it goes, e.g. the virtual time of a simulation)
  let meter: { unit: string; total: number | undefined; done: number; meter: RateMeter } | undefined;
  const estimate = (e: ProgressEvent, final = false): RateEstimate => {
    if (!meter || meter.unit !== e.unit || meter.total !== e.total || e.done < meter.done) {
      meter = { unit: e.unit, total: e.total, done: e.done, meter: new RateMeter() };
    }
    meter.done = e.done;
    return meter.meter.sample(e.done, e.total, final);
  };
  let last = 0;
  const show = (e: ProgressEvent, final: boolean) => {
    const r = estimate(e, final);
    if (json) {
      ndjson({
        phase: e.phase,
        done: e.done,
        ...(e.total !== undefined ? { total: e.total } : {}),
        unit: e.unit,
        ...rateFields(r),
        final,
      });
    } else if (tty) {
      latest = { ...e, ...r };
      if (bar) {
        bar.update(latest);
        if (final) bar.done();
      } else if (final) {
        // the phase ended before the bar was loaded: its last state as one line
        stream.write(`${e.phase}: ${e.done.toLocaleString("en-US")}${e.total ? `/${e.total.toLocaleString("en-US")}` : ""} ${e.unit}${rateAndEta(r, e.unit)}\n`);
      }
    }
  };
  return {
    update(e) {
      const now = Date.now();
      if (now - last < intervalMs) {
        estimate(e); // the rate still sees every step
        return;
      }
      last = now;
      show(e, false);
    },
    finish(e) {
      last = 0;
      show(e, true);
    },
  };
}
