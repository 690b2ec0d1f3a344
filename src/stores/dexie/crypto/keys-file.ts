/**
 * `<store>/queue/KEYS`: whether a store is encrypted and with which key, by id (never the key):
 * `{"format":"mudsync-store-keys","version":1,"key":"<id>"|null,"next"?:"<id>"}`. `next` is set
 * while the store is being converted to another key (`store encrypt`, `store rotate-key`), written
 * before the first record is sealed with it: the write-ahead note that makes the conversion
 * resumable. A store without the file is not encrypted. Replaced by temp file, fsync and rename.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { StoreCorruptError } from "../../../errors.ts";

export const KEYS_FORMAT = "mudsync-store-keys";

export interface KeysState {
  /** id of the key the store's records are sealed with; null: not encrypted */
  key: string | null;
  /** id of the key a conversion in progress seals with */
  next?: string;
}

export const keysFilePath = (queueDir: string) => path.join(queueDir, "KEYS");

const ID = /^[0-9a-f]{16}$/;

/** The store's KEYS state; `{ key: null }` when the file does not exist. */
export async function readKeysState(queueDir: string): Promise<KeysState> {
  const file = keysFilePath(queueDir);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return { key: null };
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StoreCorruptError(file, "is not JSON");
  }
  const v = value as Record<string, unknown>;
  const okId = (x: unknown) => typeof x === "string" && ID.test(x);
  if (v?.format !== KEYS_FORMAT || v.version !== 1 || !(v.key === null || okId(v.key)) || !(v.next === undefined || okId(v.next))) {
    throw new StoreCorruptError(file, `expected {"format":"${KEYS_FORMAT}","version":1,"key":<key id>|null,"next"?:<key id>}`);
  }
  return { key: v.key as string | null, ...(v.next !== undefined ? { next: v.next as string } : {}) };
}

/** Replaces the KEYS file durably (temp file, fsync, rename, directory fsync). */
export async function writeKeysState(queueDir: string, state: KeysState): Promise<void> {
  const file = keysFilePath(queueDir);
  const tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(`${JSON.stringify({ format: KEYS_FORMAT, version: 1, ...state })}\n`);
    await fh.sync();
  } catch (error) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await fh.close();
  await rename(tmp, file);
  const dir = await open(queueDir, "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * `<store>/queue/CACHE_MAC_KEY`: 32 random bytes (mode 0600) that tag the cache entries of a store
 * that is not encrypted (an encrypted store derives its tag key from the store key). Created by
 * the first writer that needs it; undefined when absent and `create` is false.
 */
export const cacheMacPath = (queueDir: string) => path.join(queueDir, "CACHE_MAC_KEY");

export async function cacheMacSecret(queueDir: string, create: boolean): Promise<Buffer | undefined> {
  const file = cacheMacPath(queueDir);
  try {
    const bytes = await readFile(file);
    if (bytes.length !== 32) throw new StoreCorruptError(file, `holds ${bytes.length} bytes, expected 32`);
    return bytes;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT" || !create) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }
  const secret = randomBytes(32);
  const tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(secret);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  return secret;
}
