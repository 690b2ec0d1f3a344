/**
 * How a store's files are opened given the keys a process holds: not encrypted (no cipher), or
 * encrypted with the key its KEYS file names (crypto/keys-file.ts). Decided before anything is
 * read or locked, so that a missing or wrong key fails with one line and changes nothing. A new
 * store opened for writing with a key is created encrypted; an existing store that is not
 * encrypted stays as it is (`mudsync store encrypt` converts it).
 */
import { StoreKeyError } from "../../errors.ts";
import { cacheMacSecret, readKeysState, writeKeysState, type KeysState } from "./crypto/keys-file.ts";
import { CacheTags } from "./crypto/cache-tags.ts";
import { macKey } from "./crypto/entry-mac.ts";
import { RecordCipher } from "./crypto/record-cipher.ts";
import type { StoreKey } from "./crypto/store-key.ts";
import { currentGeneration } from "./log/generation-files.ts";

/** The keys a process opens a store with. */
export interface StoreKeys {
  /** the store's key (MUDSYNC_KEY_FILE or MUDSYNC_KEY) */
  key?: StoreKey;
  /** the key a conversion (`store encrypt`, `store rotate-key`) seals with; also opens the store */
  next?: StoreKey;
}

export interface StoreSealing {
  cipher?: RecordCipher;
  state: KeysState;
  /** a new store: the caller writes `state` once it holds the lock */
  create?: boolean;
  warning?: string;
}

const KEY_ENV = "set MUDSYNC_KEY_FILE (or MUDSYNC_KEY) to its key";

function finishHint(state: KeysState): string {
  return state.key === null ? "mudsync store encrypt" : `mudsync store rotate-key --new-key-file <the file of key ${state.next}>`;
}

/**
 * The cipher for a store, or why it cannot be opened. `converting`: a conversion is what opens
 * it, so an interrupted one is resumed instead of refused.
 */
export async function storeSealing(queueDir: string, dir: string, keys: StoreKeys, opts: { write: boolean; converting?: boolean }): Promise<StoreSealing> {
  const state = await readKeysState(queueDir);
  if (state.next !== undefined && !opts.converting) {
    throw new StoreKeyError(`store ${dir}: its conversion to key id ${state.next} was interrupted; run \`${finishHint(state)}\` again to finish it`);
  }
  const held = [keys.key, keys.next].filter((k): k is StoreKey => k !== undefined);
  if (state.key === null) {
    if (state.next !== undefined) {
      // being encrypted: plain records and records sealed with the new key both count
      const next = held.find((k) => k.id === state.next);
      return next ? { cipher: new RecordCipher(next, held, true), state } : { state };
    }
    if (!keys.key) return { state };
    if (opts.write && (await isEmptyStore(queueDir))) {
      return { cipher: new RecordCipher(keys.key), state: { key: keys.key.id }, create: true };
    }
    return { state, warning: `store ${dir} is not encrypted (a key is set); \`mudsync store encrypt\` encrypts it` };
  }
  if (!keys.key && !keys.next) throw new StoreKeyError(`store ${dir} is encrypted (key id ${state.key}); ${KEY_ENV}`);
  const current = held.find((k) => k.id === state.key);
  if (!current) {
    const given = keys.key ?? keys.next!;
    throw new StoreKeyError(`store ${dir} is encrypted with key id ${state.key}, but ${given.source} holds key id ${given.id}: wrong key`);
  }
  return { cipher: new RecordCipher(current, held), state };
}

/** Writes a new store's KEYS file (the caller holds the lock and nothing is written yet). */
export async function recordNewStoreKey(queueDir: string, sealing: StoreSealing): Promise<void> {
  if (sealing.create) await writeKeysState(queueDir, sealing.state);
}

async function isEmptyStore(queueDir: string): Promise<boolean> {
  try {
    const g = await currentGeneration(queueDir);
    return g.gen === 0 && g.walBytes === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw error;
  }
}

/**
 * The tags of a store's cache entries: keyed from the store key when the store is encrypted, else
 * from the store's own CACHE_MAC_KEY (created with `create`, by a writer's first cache write).
 * Undefined for a store that has none yet (then no entry can be served).
 */
export async function cacheTagsFor(queueDir: string, cipher: RecordCipher | undefined, create: true): Promise<CacheTags>;
export async function cacheTagsFor(queueDir: string, cipher: RecordCipher | undefined, create: boolean): Promise<CacheTags | undefined>;
export async function cacheTagsFor(queueDir: string, cipher: RecordCipher | undefined, create: boolean): Promise<CacheTags | undefined> {
  if (cipher) return new CacheTags(macKey(cipher.sealKey.key, "cache"));
  const secret = await cacheMacSecret(queueDir, create);
  return secret ? new CacheTags(macKey(secret, "cache")) : undefined;
}
