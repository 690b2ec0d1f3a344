/** Small text helpers shared by the dashboard's views. */
import { formatDuration } from "../../core/format-duration.ts";

/** How long ago, for people (never negative). */
export const ago = (ms: number): string => formatDuration(Math.max(0, ms));

/** Cuts `text` to `width` characters with an ellipsis, and pads it to `width`. */
export function cell(text: string, width: number): string {
  const flat = text.replace(/\s+/g, " ");
  const cut = flat.length > width ? `${flat.slice(0, Math.max(0, width - 1))}…` : flat;
  return cut.padEnd(width);
}

/** A whole number with thousands separators (1,234,567). */
export const n = (value: number): string => Math.round(value).toLocaleString("en-US");
