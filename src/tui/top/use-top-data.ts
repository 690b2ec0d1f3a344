/**
 * The dashboard's data: polls the TopSource for a snapshot of the current page every `intervalMs`
 * (one request at a time, never overlapping), and runs the doctor every `findingsMs` when the
 * source can. A refresh that fails keeps the last snapshot on screen and reports the error.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import type { FindingsState, PageRequest, TopSnapshot, TopSource } from "./model.ts";
import { withDerivedThroughput } from "./throughput.ts";

export interface TopData {
  snapshot: TopSnapshot | undefined;
  /** the last refresh's error (cleared by the next good one) */
  error: string | undefined;
  /** refresh now (after an action) */
  refresh(): void;
}

export function useTopData(source: TopSource, request: PageRequest, intervalMs: number, findingsMs: number): TopData {
  const [snapshot, setSnapshot] = useState<Omit<TopSnapshot, "findings"> | undefined>();
  const [findings, setFindings] = useState<FindingsState | null>(null);
  const [error, setError] = useState<string | undefined>();
  const [nonce, setNonce] = useState(0);
  const last = useRef<Omit<TopSnapshot, "findings"> | undefined>(undefined);
  const key = JSON.stringify(request);

  useEffect(() => {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = async () => {
      try {
        const next = withDerivedThroughput(last.current, await source.snapshot(request));
        if (stopped) return;
        last.current = next;
        setSnapshot(next);
        setError(undefined);
      } catch (err) {
        if (!stopped) setError(err instanceof Error ? err.message : String(err));
      }
      if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
    // the request is compared by value (key)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [source, key, intervalMs, nonce]);

  useEffect(() => {
    const diagnose = source.diagnose?.bind(source);
    if (!diagnose) return;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const run = async () => {
      try {
        const f = await diagnose();
        if (!stopped) setFindings(f);
      } catch (err) {
        if (!stopped) setFindings({ at: Date.now(), findings: [], healthy: false, error: err instanceof Error ? err.message : String(err) });
      }
      if (!stopped) timer = setTimeout(() => void run(), findingsMs);
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [source, findingsMs]);

  const refresh = useCallback(() => setNonce((n) => n + 1), []);
  return { snapshot: snapshot ? { ...snapshot, findings } : undefined, error, refresh };
}
