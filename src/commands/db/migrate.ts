/** `mudsync db migrate`: applies pending migrations to the configured server (or the embedded PGlite). */
import type { BackendInfo } from "../../postgres/sql-client.ts";
import type { MigrateResult } from "../../sinks/sink-migrations.ts";
import { openSqlSink } from "../../sinks/open-sink.ts";
import type { CommandContext } from "../shared/context.ts";

export interface MigrateOutput extends MigrateResult {
  backend: BackendInfo;
}

export async function runMigrate(ctx: CommandContext): Promise<MigrateOutput> {
  const sink = await openSqlSink(ctx.config, { migrateEmbedded: false });
  try {
    return { backend: sink.client.info, ...(await sink.migrate()) };
  } finally {
    await sink.close();
  }
}

export function renderMigrate(r: MigrateOutput): string {
  const where = r.backend.backend === "pg" ? r.backend.url : `pglite ${r.backend.dataDir ?? "(memory)"}`;
  if (r.ran.length === 0) return `schema ${r.schema} on ${where} is up to date (${r.applied.length} migrations applied)`;
  return [`applied to schema ${r.schema} on ${where}:`, ...r.ran.map((n) => `  ${n}`)].join("\n");
}
