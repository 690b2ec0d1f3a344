/** `mudsync db status`: applied and pending migrations, server version, backend. */
import type { BackendInfo } from "../../postgres/sql-client.ts";
import type { MigrationState } from "../../sinks/sink-migrations.ts";
import { openSqlSink } from "../../sinks/open-sink.ts";
import type { CommandContext } from "../shared/context.ts";
import { table } from "../shared/output.ts";

export interface StatusOutput extends MigrationState {
  backend: BackendInfo;
  serverVersion: string;
}

export async function runStatus(ctx: CommandContext): Promise<StatusOutput> {
  const sink = await openSqlSink(ctx.config, { migrateEmbedded: false });
  try {
    const [state, serverVersion] = await Promise.all([sink.migrationStatus(), sink.serverVersion()]);
    return { backend: sink.client.info, serverVersion, ...state };
  } finally {
    await sink.close();
  }
}

export function renderStatus(r: StatusOutput): string {
  const where = r.backend.backend === "pg" ? `pg ${r.backend.url}` : `pglite ${r.backend.dataDir ?? "(memory)"}`;
  const rows = [
    ...r.applied.map((m) => [m.name, "applied", m.appliedAt, m.checksum.slice(0, 16)]),
    ...r.pending.map((m) => [m.name, "pending", "", m.checksum.slice(0, 16)]),
  ];
  return [
    `backend: ${where}`,
    `server:  PostgreSQL ${r.serverVersion}`,
    `schema:  ${r.schema} (${r.applied.length} applied, ${r.pending.length} pending)`,
    "",
    table(["migration", "state", "applied at", "checksum"], rows),
  ].join("\n");
}
