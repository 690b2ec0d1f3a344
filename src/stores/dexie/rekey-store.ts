/**
 * Key conversions of a store: `encrypt` (a store that is not encrypted gets sealed with a key) and
 * `rotate` (an encrypted store gets sealed with a new key). Both rewrite the whole store as a new
 * generation, and are crash-safe and resumable through the KEYS file (crypto/keys-file.ts):
 *
 * 1. with the lock held and the store loaded, KEYS gets `next: <new key id>` (write-ahead: from
 *    here on every open but a conversion's is refused, naming the command that finishes it);
 * 2. the store is compacted with the new key (DexieQueueStore.reseal): the new generation becomes
 *    current with one rename, the old generation's files are deleted;
 * 3. KEYS gets `key: <new key id>` without `next`.
 *
 * A crash before 2's rename leaves the old generation current, after it the new one; either way
 * running the same command again opens the store with both keys and finishes.
 */
import { existsSync } from "node:fs";
import { unlink } from "node:fs/promises";
import path from "node:path";
import { StoreKeyError, StorePathError } from "../../errors.ts";
import { CacheTags } from "./crypto/cache-tags.ts";
import { macKey } from "./crypto/entry-mac.ts";
import { cacheMacPath, readKeysState, writeKeysState } from "./crypto/keys-file.ts";
import { RecordCipher } from "./crypto/record-cipher.ts";
import type { StoreKey } from "./crypto/store-key.ts";
import { currentGeneration, queueDirOf } from "./log/generation-files.ts";
import { openDexieStore } from "./open-dexie-store.ts";

export interface RekeyOptions {
  dir: string;
  kind: "encrypt" | "rotate";
  /** the store's key now (rotate) */
  from?: StoreKey;
  /** the key to seal with */
  to: StoreKey;
  command?: string;
}

export interface RekeyResult {
  dir: string;
  /** key id before (null: not encrypted) */
  from: string | null;
  to: string;
  /** an interrupted conversion was finished */
  resumed: boolean;
  /** the store was already sealed with `to`: nothing done */
  unchanged: boolean;
  events: number;
  generation: number;
}

export async function rekeyStore(opts: RekeyOptions): Promise<RekeyResult> {
  const dir = path.resolve(opts.dir);
  const queueDir = queueDirOf(dir);
  if (!existsSync(queueDir)) throw new StorePathError(dir, "holds no event queue; expected a store directory");
  const state = await readKeysState(queueDir);
  const base = { dir, from: state.key, to: opts.to.id };
  if (state.next !== undefined && state.next !== opts.to.id) {
    throw new StoreKeyError(`store ${dir}: an interrupted conversion to key id ${state.next} must be finished first, with that key (${opts.to.source} holds key id ${opts.to.id})`);
  }
  if (state.next === undefined) {
    if (state.key === opts.to.id) return { ...base, resumed: false, unchanged: true, events: 0, generation: -1 };
    if (opts.kind === "encrypt" && state.key !== null) {
      throw new StoreKeyError(`store ${dir} is already encrypted (key id ${state.key}); \`mudsync store rotate-key --new-key-file F\` changes its key`);
    }
    if (opts.kind === "rotate" && state.key === null) {
      throw new StoreKeyError(`store ${dir} is not encrypted; \`mudsync store encrypt\` encrypts it`);
    }
  }
  if (opts.kind === "rotate" && !opts.from) {
    throw new StoreKeyError(`store ${dir} is encrypted (key id ${state.key}); set MUDSYNC_KEY_FILE (or MUDSYNC_KEY) to its current key to rotate it`);
  }
  const store = await openDexieStore({
    dir,
    mode: "write",
    command: opts.command ?? `store ${opts.kind}`,
    keys: { ...(opts.from ? { key: opts.from } : {}), next: opts.to },
    converting: true,
  });
  let events = 0;
  try {
    if (state.next === undefined) await writeKeysState(queueDir, { key: state.key, next: opts.to.id });
    const keyring = opts.from ? [opts.from] : [];
    await store.reseal(new RecordCipher(opts.to, keyring), new CacheTags(macKey(opts.to.key, "cache")));
    events = Object.values(await store.counts()).reduce((a, b) => a + b, 0);
    await writeKeysState(queueDir, { key: opts.to.id });
  } finally {
    await store.close();
  }
  // an encrypted store's cache tags come from its key: the store's own tag key is not needed any more
  await unlink(cacheMacPath(queueDir)).catch(() => undefined);
  return { ...base, resumed: state.next !== undefined, unchanged: false, events, generation: (await currentGeneration(queueDir)).gen };
}
