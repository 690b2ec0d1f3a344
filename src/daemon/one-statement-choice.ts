/**
 * Whether the daemon drains the shared Postgres queue with the one-statement drain (claim, apply
 * and settle in one transaction per batch, see core/one-statement-drain.ts). It needs the queue
 * and the sink in ONE database, reached as the same user (apply_batch then runs under the queue
 * connection's role, so row-level security must see the same user). `auto` (the default) turns it
 * on when --queue and --db name the same server, port, database and user and the sink's
 * apply_batch is installed there; `on` insists (a usage error otherwise); `off` keeps the leased
 * path.
 */
import type { OneStatementBatches } from "../core/one-statement-drain.ts";
import { UsageError } from "../errors.ts";

export const ONE_STATEMENT_MODES = ["auto", "on", "off"] as const;
export type OneStatementMode = (typeof ONE_STATEMENT_MODES)[number];

/** The parts of a postgres:// URL that decide which database and role a connection gets. */
function target(url: string): string | undefined {
  try {
    const u = new URL(url);
    const user = decodeURIComponent(u.username);
    const db = decodeURIComponent(u.pathname.replace(/^\//, "")) || user;
    const params = [...u.searchParams.entries()].filter(([k]) => ["host", "port", "user", "dbname", "options"].includes(k)).sort();
    return JSON.stringify([u.hostname.toLowerCase(), u.port || "5432", db, user, params]);
  } catch {
    return undefined;
  }
}

/** True when both URLs certainly name the same database as the same user (different spellings of one host do not count). */
export function sameDatabase(a: string, b: string): boolean {
  const ta = target(a);
  return ta !== undefined && ta === target(b);
}

export interface OneStatementChoice {
  batches?: OneStatementBatches;
  /** why the one-statement drain is off, for the log */
  reason: string;
}

export async function chooseOneStatement(p: {
  mode: OneStatementMode;
  queue?: string;
  db?: string;
  sinkSchema: string;
  oneStatementWith?: (sinkSchema: string) => Promise<OneStatementBatches | undefined>;
}): Promise<OneStatementChoice> {
  if (p.mode === "off") return { reason: "--one-statement off" };
  const refuse = (reason: string): OneStatementChoice => {
    if (p.mode === "on") throw new UsageError(`--one-statement on: ${reason}`);
    return { reason };
  };
  if (p.queue === undefined || !p.oneStatementWith) return refuse("needs the shared Postgres queue (--queue postgres://…)");
  if (p.db === undefined) return refuse("needs a Postgres sink (--db postgres://…) in the queue's database");
  if (p.mode === "auto" && !sameDatabase(p.queue, p.db)) return { reason: "--queue and --db name different databases" };
  const batches = await p.oneStatementWith(p.sinkSchema);
  if (!batches) return refuse(`schema "${p.sinkSchema}" (apply_batch) is not installed in the queue's database; run \`mudsync db migrate\` there`);
  return { batches, reason: "queue and sink share one database" };
}
