/**
 * `mudsync store encrypt` and `mudsync store rotate-key --new-key-file F`: convert the local store
 * to a key (stores/dexie/rekey-store.ts), refusing while a daemon or another writer holds it.
 */
import path from "node:path";
import { StoreKeyError } from "../../errors.ts";
import { readKeyFile } from "../../stores/dexie/crypto/store-key.ts";
import { keyFromEnv } from "../../stores/dexie/crypto/store-key.ts";
import { type RekeyResult, rekeyStore } from "../../stores/dexie/rekey-store.ts";
import type { CommandContext } from "../shared/context.ts";
import { assertStoreExists } from "../queue/open-store.ts";

export async function storeEncrypt(ctx: CommandContext): Promise<RekeyResult> {
  await assertStoreExists(ctx.config.store);
  const to = await keyFromEnv(ctx.env, ctx.cwd);
  if (!to) throw new StoreKeyError("store encrypt: no key; set MUDSYNC_KEY_FILE (a file of mode 0600) or MUDSYNC_KEY to the key to encrypt with");
  return rekeyStore({ dir: ctx.config.store, kind: "encrypt", to, command: "store encrypt" });
}

export async function storeRotateKey(opts: { newKeyFile: string }, ctx: CommandContext): Promise<RekeyResult> {
  await assertStoreExists(ctx.config.store);
  const from = await keyFromEnv(ctx.env, ctx.cwd);
  const to = await readKeyFile(path.resolve(ctx.cwd, opts.newKeyFile), `--new-key-file ${opts.newKeyFile}`);
  if (from && from.id === to.id) throw new StoreKeyError(`--new-key-file ${opts.newKeyFile}: holds the store's current key (id ${to.id}); expected a new key`);
  return rekeyStore({ dir: ctx.config.store, kind: "rotate", ...(from ? { from } : {}), to, command: "store rotate-key" });
}

export function renderRekey(r: RekeyResult): string {
  if (r.unchanged) return `store ${r.dir} is already sealed with key id ${r.to}; nothing to do`;
  const what = r.from === null ? "encrypted" : `re-sealed (key id ${r.from} →`;
  const done = r.from === null ? `with key id ${r.to}` : `${r.to})`;
  return `store ${r.dir}: ${r.events} events ${what} ${done}${r.resumed ? ", finishing an interrupted conversion" : ""}; generation ${r.generation}`;
}
