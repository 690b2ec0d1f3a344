/**
 * The commands a finding tells a person to paste, for the source that was diagnosed: a local
 * store is fixed in place, an export is imported first (doctor never imports it), and a shared
 * Postgres queue is drained by a daemon, which reclaims expired leases and retries failed events
 * when due. A server URL is written with its password masked.
 */
import { redactUrl } from "../postgres/pg-client.ts";
import type { DoctorSource } from "./types.ts";

/** A word for a POSIX shell: as it is when safe, else in single quotes. */
export function shellWord(s: string): string {
  if (/^[\w@%+=:,./-]+$/.test(s)) return s;
  // SQL with its own single quotes reads best in double quotes, when nothing in it expands there
  if (s.includes("'") && !/["$`\\!]/.test(s)) return `"${s}"`;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const maskUrl = redactUrl;

export class FixCommands {
  private readonly dbFlag: string;

  constructor(
    private readonly source: DoctorSource,
    private readonly db?: string,
    private readonly dbSchema = "mudsync",
  ) {
    this.dbFlag = db ? ` --db ${shellWord(maskUrl(db))}` : "";
  }

  /** For an export: imports its valid rows and reports the others (the first of a repeated id is kept). */
  skipInvalid(): string | undefined {
    return this.source.kind === "file" ? `mudsync queue import ${shellWord(this.source.path)} --skip-invalid` : undefined;
  }

  /** Raises the server's payload limit to `bytes`. */
  raisePayloadLimit(bytes: number): string {
    return this.psql(`update ${this.dbSchema}.settings set value = '${bytes}' where key = 'max_payload_bytes'`);
  }

  /** Registers an entity on the server, with a document table of its own name. */
  registerEntity(entity: string): string {
    const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
    return this.psql(`select ${this.dbSchema}.register_entity(${lit(entity)}, ${lit(entity)}, 'document')`);
  }

  private psql(sql: string): string {
    return `psql ${this.db ? shellWord(maskUrl(this.db)) : '"$DATABASE_URL"'} -c ${shellWord(sql)}`;
  }

  /** The store directory of a store source, quoted for a shell (a placeholder for other sources). */
  storeDir(): string {
    return this.source.kind === "store" ? shellWord(this.source.dir) : "STORE_DIR";
  }

  /** `mudsync [globals] queue …` run on the queue the source holds. */
  queue(args: string): string {
    switch (this.source.kind) {
      case "store":
        return `mudsync --store ${shellWord(this.source.dir)}${this.dbFlag} queue ${args}`;
      case "file":
        return `mudsync queue import ${shellWord(this.source.path)} && mudsync${this.dbFlag} queue ${args}`;
      case "queue":
        return this.daemonOnce();
    }
  }

  /** Moves the chosen events back to pending and drains them. */
  replay(sel: { statuses?: readonly string[]; ids?: readonly string[] }): string {
    const parts: string[] = [];
    if (sel.ids && sel.ids.length > 0) parts.push(`--ids ${shellWord(sel.ids.join(","))}`);
    else if (sel.statuses && sel.statuses.length > 0) parts.push(`--status ${sel.statuses.join(",")}`);
    return this.queue(`replay ${parts.join(" ")}`.trim());
  }

  /** What applying these events would change, in a transaction that is rolled back. */
  dryRun(ids: readonly string[]): string {
    if (this.source.kind === "queue") return this.daemonOnce();
    return this.queue(`replay --ids ${shellWord(ids.join(","))} --dry-run`);
  }

  /** Drains the queue with mudsync's engine (row order kept, retries with jittered backoff). */
  drain(): string {
    return this.queue("drain");
  }

  /** One event in full, with its history. */
  show(id: string): string {
    if (this.source.kind === "queue") return `mudsync queue show ${shellWord(id)} --queue ${shellWord(maskUrl(this.source.url))}`;
    if (this.source.kind === "file") return `mudsync queue import ${shellWord(this.source.path)} && mudsync queue show ${shellWord(id)}`;
    return `mudsync --store ${shellWord(this.source.dir)} queue show ${shellWord(id)}`;
  }

  private daemonOnce(): string {
    const url = this.source.kind === "queue" ? this.source.url : "";
    return `mudsync${this.dbFlag} daemon --queue ${shellWord(maskUrl(url))} --once`;
  }
}
