/**
 * Checksums of migration files that ignore comments: the SQL with line and block comments, blank
 * lines and runs of white space taken out (string literals kept as they are), so a migration's
 * comments can be corrected after it was applied while any change to its statements is still
 * caught.
 */
import { createHash } from "node:crypto";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** sha256 of the file's text as it is (what earlier versions recorded). */
export function textChecksum(sql: string): string {
  return sha256(sql);
}

/** sha256 of the statements alone (see stripComments). */
export function sqlChecksum(sql: string): string {
  return sha256(stripComments(sql));
}

/** The SQL without comments, each line trimmed and its spacing collapsed, blank lines dropped. */
export function stripComments(sql: string): string {
  let out = "";
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'") {
      // a string literal, '' inside it included
      let j = i + 1;
      while (j < sql.length && !(sql[j] === "'" && sql[j + 1] !== "'")) j += sql[j] === "'" ? 2 : 1;
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === "-" && sql[i + 1] === "-") {
      while (i < sql.length && sql[i] !== "\n") i += 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else {
      out += c;
      i += 1;
    }
  }
  return out
    .split("\n")
    .map((l) => l.replace(/\s+/g, " ").trim())
    .filter((l) => l !== "")
    .join("\n");
}
