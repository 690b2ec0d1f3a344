/** The files under a directory, for tests that check what is on disk: paths, hashes, bytes sought. */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

/** Every file under dir (recursively), as paths relative to it. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

/** Every file under dir with the SHA-256 of its bytes: equal before and after means nothing changed. */
export function fileHashes(dir: string): Record<string, string> {
  return Object.fromEntries(filesUnder(dir).map((f) => [f, createHash("sha256").update(readFileSync(path.join(dir, f))).digest("hex")]));
}

/** The files under dir whose bytes contain `text`. */
export function filesHolding(dir: string, text: string): string[] {
  return filesUnder(dir).filter((f) => readFileSync(path.join(dir, f)).includes(text));
}
