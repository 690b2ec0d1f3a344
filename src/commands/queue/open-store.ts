/**
 * Opens the local Dexie queue store for a queue command: read mode for inspection commands (no
 * lock, works while a writer holds it), write mode for import and enqueue. What open repaired or
 * noticed (a torn write cut after a crash, a stale lock taken over) is printed on stderr, one
 * `mudsync: warning:` line each.
 */
import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { StorePathError } from "../../errors.ts";
import { type DexieQueueStore, openDexieStore } from "../../stores/dexie/index.ts";
import { PartedStore } from "../../stores/dexie/parts/parted-store.ts";
import { estimateEvents, partCount } from "../../stores/dexie/parts/part-count.ts";
import { queueDirOf } from "../../stores/dexie/log/generation-files.ts";
import type { CommandContext } from "../shared/context.ts";
import { keyFromEnv } from "../../stores/dexie/crypto/store-key.ts";
import type { StoreKeys } from "../../stores/dexie/store-encryption.ts";

export type LocalQueueStore = DexieQueueStore;

export async function openQueueStore(ctx: CommandContext, mode: "read" | "write", command: string): Promise<LocalQueueStore> {
  if (mode === "read") await assertStoreExists(ctx.config.store);
  const store = await openDexieStore({ dir: ctx.config.store, mode, command, keys: await storeKeysOf(ctx) });
  warn(store.warnings);
  return store;
}

/**
 * Default of `queue drain --part-size`: parts of 10k keep a drain's peak memory close to that of
 * 5k parts without slowing it, while 20k parts cost noticeably more memory.
 */
export const DEFAULT_PART_EVENTS = 10_000;

/**
 * Opens the local store for `queue drain`: whole when it holds at most `partEvents` events (by
 * the estimate of stores/dexie/parts/part-count.ts), else in parts of at most that many, one in
 * memory at a time.
 */
export async function openDrainStore(ctx: CommandContext, partEvents = DEFAULT_PART_EVENTS): Promise<LocalQueueStore | PartedStore> {
  const queueDir = queueDirOf(ctx.config.store);
  // only an estimate: a file that cannot be read here makes it a whole open, which says why
  const events = existsSync(queueDir) ? await estimateEvents(queueDir).catch(() => 0) : 0;
  const parts = partCount(events, partEvents);
  if (parts <= 1) return openQueueStore(ctx, "write", "queue drain");
  const store = await PartedStore.open({ dir: ctx.config.store, parts, command: "queue drain", keys: await storeKeysOf(ctx) });
  warn(store.warnings);
  return store;
}

/**
 * A read-only command shows a store as it is and creates nothing, so a --store that names no
 * store (a typo, a file) is refused instead of reading as an empty queue. Writers create it.
 */
export async function assertStoreExists(storeDir: string): Promise<void> {
  if (!storeDir) return; // openDexieStore says that a path is expected
  const dir = path.resolve(storeDir);
  const found = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT" || error.code === "ENOTDIR") return undefined;
    throw error;
  });
  if (!found) {
    throw new StorePathError(dir, "does not exist; expected a store directory made by `queue import` or `queue enqueue` (check --store and MUDSYNC_STORE)");
  }
  if (!found.isDirectory()) throw new StorePathError(dir, "is a file; expected a store directory");
  if (!existsSync(queueDirOf(dir))) {
    throw new StorePathError(dir, `holds no event queue (no ${queueDirOf(dir)}); \`queue import\` or \`queue enqueue\` create it`);
  }
}

/** The store key the environment names (MUDSYNC_KEY_FILE or MUDSYNC_KEY), if any. */
export async function storeKeysOf(ctx: Pick<CommandContext, "env" | "cwd">): Promise<StoreKeys> {
  const key = await keyFromEnv(ctx.env, ctx.cwd);
  return key ? { key } : {};
}

function warn(warnings: readonly string[]): void {
  for (const warning of warnings) process.stderr.write(`mudsync: warning: ${warning}\n`);
}

/** Runs `fn` with an open store and always closes it. */
export async function withQueueStore<T>(
  ctx: CommandContext,
  mode: "read" | "write",
  command: string,
  fn: (store: LocalQueueStore) => Promise<T>,
): Promise<T> {
  const store = await openQueueStore(ctx, mode, command);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
