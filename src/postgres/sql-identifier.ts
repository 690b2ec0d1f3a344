/**
 * Schema names are the only identifiers mudsync puts into SQL text itself (entity and table
 * names come from the server's entities registry, and the server functions quote them with
 * format's %I). A name must match SQL_IDENTIFIER_RE, a lower-case identifier that needs no
 * quoting and cannot close a quoted one, before it is written as `"name"`.
 */
import { UsageError } from "../errors.ts";

export const SQL_IDENTIFIER_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export const SQL_IDENTIFIER_HINT = "expected a lower-case SQL identifier (letters, digits, _)";

/** The name, checked; a UsageError naming `what` otherwise. */
export function checkSqlIdentifier(name: string, what = "schema"): string {
  if (typeof name !== "string" || !SQL_IDENTIFIER_RE.test(name)) throw new UsageError(`${what} ${JSON.stringify(name)}: ${SQL_IDENTIFIER_HINT}`);
  return name;
}

/** `"name"` for SQL text, after checking it. */
export function quoteSqlIdentifier(name: string, what = "schema"): string {
  return `"${checkSqlIdentifier(name, what)}"`;
}
