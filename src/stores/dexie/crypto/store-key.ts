/**
 * The key a store is encrypted with: 32 bytes from `MUDSYNC_KEY_FILE` (a file only its owner may
 * read: mode 0600 or 0400, anything looser is refused) or `MUDSYNC_KEY` (64 hex digits or the
 * base64 of 32 bytes). A key is known by its id, a digest that names it without revealing it: the
 * id is stored beside every sealed record and in the store's KEYS file, so that a wrong key is
 * told apart from altered data and a rotation knows which records are done.
 */
import { createHmac } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { StoreKeyError } from "../../../errors.ts";

export const KEY_BYTES = 32;

export interface StoreKey {
  /** 16 hex digits naming the key (HMAC-SHA256 of a fixed label under the key) */
  id: string;
  key: Buffer;
  /** where the key came from, for messages: `MUDSYNC_KEY`, `MUDSYNC_KEY_FILE=/path`, `--new-key-file /path` */
  source: string;
}

export function keyId(key: Buffer): string {
  return createHmac("sha256", key).update("mudsync store key id").digest("hex").slice(0, 16);
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/_-]{43}=?$/;

/** Reads 32 key bytes from text (hex or base64, surrounding white space ignored) or, with `raw` (a key file), raw bytes. */
export function parseKey(bytes: Buffer, source: string, opts: { raw?: boolean } = {}): StoreKey {
  let key: Buffer | undefined;
  if (opts.raw && bytes.length === KEY_BYTES) key = Buffer.from(bytes);
  else {
    const text = bytes.toString("utf8").trim();
    if (HEX_KEY.test(text)) key = Buffer.from(text, "hex");
    else if (BASE64_KEY.test(text)) key = Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  }
  if (!key || key.length !== KEY_BYTES) {
    throw new StoreKeyError(`${source}: expected a 256-bit key (64 hex digits, the base64 of 32 bytes, or 32 raw bytes)`);
  }
  return { id: keyId(key), key, source };
}

/** Reads a key file, refusing one that others than its owner may read or write. */
export async function readKeyFile(file: string, source: string): Promise<StoreKey> {
  let mode: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new StoreKeyError(`${source}: not a file`);
    mode = s.mode & 0o777;
  } catch (error) {
    if (error instanceof StoreKeyError) throw error;
    throw new StoreKeyError(`${source}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  }
  if ((mode & 0o077) !== 0) {
    throw new StoreKeyError(`${source}: mode ${mode.toString(8).padStart(4, "0")} lets other accounts read or change the key; expected 0600 (chmod 600 ${file})`);
  }
  return parseKey(await readFile(file), source, { raw: true });
}

/**
 * The key the environment names, if any: MUDSYNC_KEY_FILE (mode checked) or MUDSYNC_KEY. Both at
 * once is refused: which one was meant cannot be told.
 */
export async function keyFromEnv(env: NodeJS.ProcessEnv, cwd = process.cwd()): Promise<StoreKey | undefined> {
  const file = env.MUDSYNC_KEY_FILE;
  const text = env.MUDSYNC_KEY;
  if (file && text) throw new StoreKeyError("MUDSYNC_KEY_FILE and MUDSYNC_KEY are both set; set only one");
  if (file) {
    return readKeyFile(path.resolve(cwd, file), `MUDSYNC_KEY_FILE=${file}`);
  }
  if (text) return parseKey(Buffer.from(text, "utf8"), "MUDSYNC_KEY");
  return undefined;
}
