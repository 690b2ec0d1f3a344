/**
 * The NOTIFY payload the entity-table trigger publishes on `<schema>_changes`
 * (`{"entity","id","version","op","changedBy"}`), validated into a RowChange. Anything else on the
 * channel is reported with a one-line reason instead of reaching subscribers.
 */
import { z } from "zod";
import { describeIssues } from "../core/event.ts";
import type { RowChange } from "../core/ports.ts";

const changePayloadSchema = z.looseObject({
  entity: z.string().min(1),
  id: z.string().min(1),
  version: z.number().int().nonnegative(),
  op: z.enum(["insert", "update", "delete"]),
  changedBy: z.string().nullish(),
});

export type ParsedChange = { ok: true; change: RowChange } | { ok: false; reason: string };

/** The LISTEN channel for a schema (schema names are validated lower-case identifiers). */
export function changesChannel(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,54}$/.test(schema)) {
    throw new Error(`schema "${schema}": expected a lower-case SQL identifier`);
  }
  return `${schema}_changes`;
}

export function parseChangePayload(text: string): ParsedChange {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: `notification payload is not JSON: ${text.slice(0, 80)}` };
  }
  const r = changePayloadSchema.safeParse(value);
  if (!r.success) return { ok: false, reason: `notification payload: ${describeIssues(r.error)}` };
  const { entity, id, version, op, changedBy } = r.data;
  return { ok: true, change: changedBy ? { entity, id, version, op, changedBy } : { entity, id, version, op } };
}
