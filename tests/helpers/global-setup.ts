/**
 * Runs once before the suite: reports which real-server suites run or are left out, and names the
 * directory of the run's migrated PGlite template (pglite-template.ts), removed after the run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { PG_ADMIN_URL, realPgAvailable } from "./pg.ts";

export default async function setup(project: TestProject): Promise<() => void> {
  const ok = await realPgAvailable();
  if (!ok) {
    process.stderr.write(
      `\n[mudsync tests] PostgreSQL at ${PG_ADMIN_URL} is unreachable: real-server suites are LEFT OUT; ` +
        "the PGlite path runs. In CI (CI=true) this is a failure.\n\n",
    );
  }
  const root = mkdtempSync(path.join(tmpdir(), "mudsync-test-pglite-"));
  project.provide("pgliteTemplateRoot", root);
  return () => rmSync(root, { recursive: true, force: true });
}
