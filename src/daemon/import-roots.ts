/**
 * Which files `POST /v1/import` may make the daemon read. The caller holds the daemon's token (or
 * reached its 0600 socket), so it acts as the daemon's own account; still, the daemon opens only:
 * - a regular file (no device, FIFO or directory), by its real path (symlinks resolved);
 * - under one of the `--import-root` directories when any are given. A daemon that listens beyond
 *   loopback (`--listen-public`) reads no file at all unless import roots are given.
 * And an error about a file the daemon read never quotes the file's content (see
 * `withheldImportError`): the CLI checks the file itself first, with its own rights, and shows
 * the details there.
 */
import { realpath, stat } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError, UsageError } from "../errors.ts";
import { HttpError } from "./control-server.ts";

/** `any`: a path anywhere; `none`: /v1/import is refused; `under`: real paths inside these directories. */
export type ImportRoots = { kind: "any" } | { kind: "none" } | { kind: "under"; dirs: string[] };

export async function resolveImportRoots(dirs: string[] | undefined, listenPublic: boolean, cwd: string): Promise<ImportRoots> {
  if (!dirs || dirs.length === 0) return listenPublic ? { kind: "none" } : { kind: "any" };
  const out: string[] = [];
  for (const d of dirs) {
    const abs = path.resolve(cwd, d);
    let real: string;
    try {
      real = await realpath(abs);
    } catch (err) {
      throw new UsageError(`--import-root ${abs}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; expected an existing directory`);
    }
    if (!(await stat(real)).isDirectory()) throw new UsageError(`--import-root ${abs}: not a directory`);
    out.push(real);
  }
  return { kind: "under", dirs: out };
}

/**
 * The real path the daemon may open for `file`, or a 403 saying why not. A missing file is left
 * to the reader (its one line names it).
 */
export async function importablePath(file: string, roots: ImportRoots): Promise<string> {
  if (roots.kind === "none") {
    throw new HttpError(403, "POST /v1/import: this daemon listens beyond loopback and reads no files unless started with --import-root DIR");
  }
  let real: string;
  try {
    real = await realpath(file);
  } catch {
    return file;
  }
  const s = await stat(real);
  if (!s.isFile()) throw new HttpError(400, `${file}: not a regular file; expected a dexie-export-import JSON export`);
  if (roots.kind === "under" && !roots.dirs.some((d) => inside(real, d))) {
    throw new HttpError(403, `${file}: outside the daemon's import roots (${roots.dirs.join(", ")}); the daemon reads export files only under them`);
  }
  return real;
}

function inside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

/**
 * An import error with the file's content left out: names the file and says how to see the
 * details, so that the control API never echoes what a file the daemon read holds.
 */
export function withheldImportError(err: unknown): unknown {
  if (!(err instanceof InvalidInputError)) return err;
  // about the file itself, not its content: kept as it is
  if (err.where === undefined && /^(no such file|cannot read the file|not a regular file)/.test(err.expected)) return err;
  return new InvalidInputError(
    err.file,
    undefined,
    "not a valid export, or it holds a row the daemon refuses (details withheld by the daemon; run `mudsync queue import` on the file, which checks it before sending)",
  );
}
