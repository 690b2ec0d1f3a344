/**
 * How the simulation sees rows: chart rows (`chart_data_source`) are lists of entries, kept in a
 * history as the map entry id → label; documents are their object. The same edit functions update
 * a client's optimistic view, so the view and the server apply an edit the same way.
 */
import { entriesOf, isEntryList } from "../../core/conflict.ts";
import type { EventType } from "../../core/event.ts";
import type { UpdateFn } from "../../core/optimistic.ts";
import type { Effect, RowValue } from "../history/history-records.ts";

export const DOCUMENT_FIELDS = ["name", "status", "note"] as const;

export function isChart(entity: string): boolean {
  return isEntryList(entity);
}

/** A row's data as the server or a view holds it → the history's value. */
export function normalise(entity: string, data: unknown): RowValue {
  if (data === undefined || data === null) return null;
  if (isChart(entity)) {
    const out: Record<string, unknown> = {};
    for (const e of entriesOf(data)) if (typeof e["id"] === "string") out[e["id"]] = e["label"] ?? null;
    return out;
  }
  return typeof data === "object" && !Array.isArray(data) ? { ...(data as Record<string, unknown>) } : { value: data };
}

/** What an edit does to a row, as the history records it. */
export function effectOf(entity: string, type: EventType, payload: Record<string, unknown>): Effect {
  if (isChart(entity)) {
    const id = payload["id"];
    if (typeof id !== "string") return {};
    return type === "remove" ? { [id]: null } : { [id]: payload["label"] ?? null };
  }
  if (type === "remove") return null;
  return { ...payload };
}

/** The optimistic edit of an event: the same change the server's apply_batch makes. */
export function editFn(entity: string, type: EventType, payload: Record<string, unknown>): UpdateFn<unknown> {
  if (isChart(entity)) {
    const id = payload["id"];
    return (current) => {
      const list = entriesOf(current);
      const at = list.findIndex((e) => e["id"] === id);
      if (type === "remove") return at < 0 ? current : list.filter((_, i) => i !== at);
      if (at < 0) return [...list, payload];
      const next = list.slice();
      next[at] = type === "add" ? payload : { ...list[at], ...payload };
      return next;
    };
  }
  if (type === "remove") return () => undefined;
  if (type === "add") return () => ({ ...payload });
  return (current) => ({ ...(current && typeof current === "object" ? (current as Record<string, unknown>) : {}), ...payload });
}
