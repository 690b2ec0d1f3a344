/**
 * The `/` filter of `mudsync top`: words like `failed,dead`, `status:pending`, `entity:well`,
 * `newest` / `oldest`. A bare word made of statuses filters by status, any other bare word names an
 * entity. The same filter pages through every source (it becomes a list query).
 */
import { EVENT_STATUSES, type EventStatus } from "../../core/event.ts";
import type { EventFilter } from "./model.ts";

export const DEFAULT_FILTER: EventFilter = { order: "asc" };

const isStatus = (s: string): s is EventStatus => (EVENT_STATUSES as readonly string[]).includes(s);

export function parseFilter(text: string): { filter: EventFilter } | { error: string } {
  const filter: EventFilter = { order: "asc" };
  for (const word of text.trim().split(/\s+/).filter(Boolean)) {
    const [key, value] = word.includes(":") ? (word.split(":", 2) as [string, string]) : [undefined, word];
    if (key === undefined && (value === "newest" || value === "oldest")) {
      filter.order = value === "newest" ? "desc" : "asc";
      continue;
    }
    if (key === "order") {
      if (value !== "newest" && value !== "oldest") return { error: `order:${value}: expected order:newest or order:oldest` };
      filter.order = value === "newest" ? "desc" : "asc";
      continue;
    }
    const parts = value.split(",").filter(Boolean);
    if (key === "status" || (key === undefined && parts.length > 0 && parts.every(isStatus))) {
      const bad = parts.find((p) => !isStatus(p));
      if (bad !== undefined || parts.length === 0) return { error: `status "${bad ?? value}": expected ${EVENT_STATUSES.join(", ")}` };
      filter.statuses = parts as EventStatus[];
      continue;
    }
    if (key === "entity" || key === undefined) {
      if (!value) return { error: "entity: expected a name, e.g. entity:well" };
      filter.entity = value;
      continue;
    }
    return { error: `"${word}": expected status:S,S, entity:NAME, newest or oldest` };
  }
  return { filter };
}

/** The filter as the words that give it back (shown in the filter bar). */
export function formatFilter(f: EventFilter): string {
  const words: string[] = [];
  if (f.statuses) words.push(`status:${f.statuses.join(",")}`);
  if (f.entity !== undefined) words.push(`entity:${f.entity}`);
  if (f.order === "desc") words.push("newest");
  return words.join(" ");
}
