/**
 * Locates a function exported by code under test that may not have landed yet. Files are found by
 * reading their text (never by importing unknown modules), so a missing piece becomes a clear
 * "not available: …" line in the report instead of a crash.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "./run-measured.ts";

export type Located = { ok: true; file: string } | { ok: false; reason: string };

function exportsName(text: string, name: string): boolean {
  return (
    new RegExp(`export\\s+(async\\s+)?(function|const|class)\\s+${name}\\b`).test(text) ||
    new RegExp(`export\\s*\\{[^}]*\\b${name}\\b[^}]*\\}`).test(text)
  );
}

/** The file under `dir` (repo-relative) exporting `name`; index.ts first, then the rest, sorted. */
export function locateExport(dir: string, name: string): Located {
  const abs = path.join(REPO_ROOT, dir);
  if (!existsSync(abs)) return { ok: false, reason: `${dir}/ does not exist (${name} has not landed)` };
  const files = readdirSync(abs)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.endsWith(".d.ts"))
    .sort((a, b) => (a === "index.ts" ? -1 : b === "index.ts" ? 1 : a.localeCompare(b)));
  for (const f of files) {
    const file = path.join(abs, f);
    if (exportsName(readFileSync(file, "utf8"), name)) return { ok: true, file };
  }
  return { ok: false, reason: `no file in ${dir}/ exports ${name} yet` };
}

/** Imports `name` from a located file. */
export async function importExport<T>(file: string, name: string): Promise<T> {
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const value = mod[name];
  if (value === undefined) throw new Error(`${path.relative(REPO_ROOT, file)} does not export ${name}`);
  return value as T;
}
