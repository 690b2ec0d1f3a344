/**
 * The control API's bearer token: a random secret in a file of mode 0600 (by default
 * `<store>/control-token`, or `--token-file`), created at the daemon's first start and kept
 * across restarts. Whoever can read the file may drive the daemon over TCP; the CLI reads it
 * itself (the store's lock names the file). Tokens are compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, open, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { UsageError } from "../errors.ts";

export const TOKEN_FILE_NAME = "control-token";

/** Fewest characters a token given in a file may have (a created one has 43). */
const MIN_TOKEN_LENGTH = 32;
const MAX_TOKEN_LENGTH = 1024;

/** Where the token lives when no --token-file is given: in the store directory. */
export function defaultTokenFile(storeDir: string): string {
  return path.join(path.resolve(storeDir), TOKEN_FILE_NAME);
}

/**
 * The token in `file`, created (0600, in a 0700 directory) when the file does not exist. A file
 * that other accounts may read, or that holds no usable token, is refused with one line.
 */
export async function loadOrCreateToken(file: string): Promise<string> {
  const existing = await readTokenFile(file, "--token-file");
  if (existing !== undefined) return existing;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString("base64url");
  try {
    const fh = await open(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
    try {
      await fh.writeFile(`${token}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return token;
  } catch (err) {
    // another daemon created it in between: use that one
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return (await readTokenFile(file, "--token-file"))!;
    throw new UsageError(`--token-file ${file}: cannot be created (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/**
 * Reads a token file: undefined when it does not exist. `what` names the file's source in the
 * error (a flag, or the store's lock).
 */
export async function readTokenFile(file: string, what: string): Promise<string | undefined> {
  let text: string;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new UsageError(`${what} ${file}: not a regular file; expected a file holding the control API token`);
    if ((s.mode & 0o077) !== 0) {
      throw new UsageError(
        `${what} ${file}: mode ${(s.mode & 0o777).toString(8)} lets other accounts read the control API token; expected 600 (chmod 600 ${file})`,
      );
    }
    text = await readFile(file, "utf8");
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new UsageError(`${what} ${file}: cannot be read (${code ?? String(err)})`);
  }
  const token = text.trim();
  if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) {
    throw new UsageError(
      `${what} ${file}: expected one token of ${MIN_TOKEN_LENGTH} to ${MAX_TOKEN_LENGTH} printable characters without spaces`,
    );
  }
  return token;
}

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/** Constant-time comparison (hashes first, so unequal lengths take the same time too). */
export function tokensEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i.exec(header);
  return m ? m[1] : undefined;
}
