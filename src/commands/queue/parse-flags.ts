/**
 * Parsers for the queue commands' flag values (statuses, times, durations, orders), each failing
 * with one UsageError line that names the flag, the value and what was expected.
 */
import { EVENT_STATUSES, type EventStatus } from "../../core/event.ts";
import { UsageError } from "../../errors.ts";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since`: an ISO time, epoch milliseconds, or a duration back from now (15m, 2h, 3d). */
export function parseSince(value: string, now: number): number {
  const v = value.trim();
  const dur = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(v);
  if (dur) return now - Number(dur[1]) * (UNITS[dur[2] as string] ?? 0);
  if (/^\d{10,}$/.test(v)) return Number(v);
  if (/^\d{4}-\d{2}-\d{2}/.test(v)) {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  throw new UsageError(
    `--since expects an ISO time (2024-05-01T12:00:00Z), epoch milliseconds or a duration like 15m, 2h, 3d; got "${value}"`,
  );
}

/** `--status pending,failed` */
export function parseStatuses(value: string | undefined): EventStatus[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(",").map((s) => s.trim()).filter(Boolean);
  for (const p of parts) {
    if (!(EVENT_STATUSES as readonly string[]).includes(p)) {
      throw new UsageError(`--status expects one or more of ${EVENT_STATUSES.join(",")} separated by commas; got "${p}"`);
    }
  }
  if (parts.length === 0) throw new UsageError(`--status expects one or more of ${EVENT_STATUSES.join(",")}; got ""`);
  return [...new Set(parts)] as EventStatus[];
}

export function parseOrder(value: string | undefined): "asc" | "desc" {
  if (value === undefined || value === "newest") return "desc";
  if (value === "oldest") return "asc";
  throw new UsageError(`--order expects newest or oldest; got "${value}"`);
}

/** `--payload '{"a":1}'`: a JSON object. */
export function parseJsonObject(flag: string, value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new UsageError(`${flag} expects a JSON object; ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UsageError(`${flag} expects a JSON object like '{"name":"x"}'; got ${value.slice(0, 60)}`);
  }
  return parsed as Record<string, unknown>;
}
