/**
 * The opaque `list` cursor of the Postgres queue store: the (timestamp, insertion position) of the
 * last event of a page, base64url-encoded, so the next page continues after it in either order.
 */
import { UsageError } from "../../errors.ts";

export interface ListPosition {
  ts: number;
  pos: string;
}

const PREFIX = "pgq1:";

export function encodeListCursor(p: ListPosition): string {
  return Buffer.from(`${PREFIX}${JSON.stringify([p.ts, p.pos])}`, "utf8").toString("base64url");
}

export function decodeListCursor(cursor: string): ListPosition {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  if (text.startsWith(PREFIX)) {
    try {
      const value: unknown = JSON.parse(text.slice(PREFIX.length));
      if (
        Array.isArray(value) &&
        value.length === 2 &&
        typeof value[0] === "number" &&
        Number.isFinite(value[0]) &&
        typeof value[1] === "string" &&
        /^\d{1,19}$/.test(value[1])
      ) {
        return { ts: value[0], pos: value[1] };
      }
    } catch {
      // fall through to the error below
    }
  }
  throw new UsageError(`list cursor "${cursor.slice(0, 40)}": expected the \`next\` value of a previous page of this queue`);
}
