/**
 * The project's own text (code, comments, help, tests, fixtures, docs) speaks of the project, not
 * of the tracker it was planned in: no "issue 2", "(issue 3)" or "the defaults of the issue".
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const ROOTS = ["src", "bench", "bin", "tests", "fixtures", "docs", "README.md", "CHANGELOG.md", "package.json"];
const TEXT = /\.(ts|tsx|js|mjs|md|sql|json|ya?ml|html)$/;

const TRACKER = [/\bissues?\s*#?\d+\b/i, /\(issue\b/i, /\bthe issue\b/i];

function files(rel: string): string[] {
  const abs = path.join(ROOT, rel);
  let stat;
  try {
    stat = statSync(abs);
  } catch {
    return [];
  }
  if (stat.isFile()) return TEXT.test(rel) ? [rel] : [];
  return readdirSync(abs)
    .filter((name) => name !== "node_modules" && !name.startsWith("."))
    .flatMap((name) => files(path.join(rel, name)));
}

describe("project text", () => {
  it("has no references to tracker issues", () => {
    const hits: string[] = [];
    for (const file of ROOTS.flatMap(files)) {
      if (file === "tests/unit/project-text.test.ts") continue;
      readFileSync(path.join(ROOT, file), "utf8")
        .split("\n")
        .forEach((line, i) => {
          if (TRACKER.some((re) => re.test(line))) hits.push(`${file}:${i + 1}: ${line.trim().slice(0, 120)}`);
        });
    }
    expect(hits).toEqual([]);
  });
});
