/**
 * A migrated embedded database to copy into a store's `pglite/` directory: a fresh PGlite plus the
 * migrations takes seconds, a copy well under one. Made once per test run, in the directory that
 * global-setup provides (the first file that asks builds it; a race ends in one atomic rename).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { inject } from "vitest";
import { PgliteSink } from "../../src/sinks/pglite/pglite-sink.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** where this run's migrated PGlite template lives (built on first use) */
    pgliteTemplateRoot: string;
  }
}

let template: Promise<string> | undefined;

async function build(): Promise<string> {
  const root = inject("pgliteTemplateRoot");
  mkdirSync(root, { recursive: true });
  const dir = path.join(root, "template");
  if (existsSync(dir)) return dir;
  const building = mkdtempSync(path.join(root, "building-"));
  const sink = await PgliteSink.open({ schema: "mudsync", dataDir: path.join(building, "pglite"), migrate: true });
  await sink.close();
  try {
    renameSync(path.join(building, "pglite"), dir);
  } catch (err) {
    // another worker renamed its copy first: use that one
    if (!existsSync(dir)) throw err;
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return dir;
}

/** Copies the migrated template into `<store>/pglite` (which must not exist yet); returns `store`. */
export async function withMigratedPglite(store: string): Promise<string> {
  template ??= build();
  const target = PgliteSink.dataDirOf(store);
  if (existsSync(target)) throw new Error(`${target} exists already`);
  cpSync(await template, target, { recursive: true });
  return store;
}
