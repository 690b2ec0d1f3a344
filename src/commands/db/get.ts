/** `mudsync db get ENTITY ID`: the server's current row and version. */
import type { RowState } from "../../core/ports.ts";
import { UsageError } from "../../errors.ts";
import { openSink } from "../../sinks/open-sink.ts";
import type { CommandContext } from "../shared/context.ts";

export async function runGet(ctx: CommandContext, entity: string, id: string): Promise<RowState> {
  const sink = await openSink(ctx.config, { migrateEmbedded: true });
  try {
    const row = await sink.getRow(entity, id);
    if (!row) throw new UsageError(`no ${entity} with id "${id}" on the server`);
    return row;
  } finally {
    await sink.close();
  }
}

export function renderGet(r: RowState): string {
  return [
    `${r.entity} ${r.id}  version ${r.version}${r.updatedAt ? `  updated ${r.updatedAt}` : ""}${r.updatedBy ? ` by ${r.updatedBy}` : ""}`,
    JSON.stringify(r.data, null, 2),
  ].join("\n");
}
