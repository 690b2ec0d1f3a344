/**
 * Opens the local Dexie queue store for a queue command: read mode for inspection commands (no
 * lock, works while a writer holds it), write mode for import and enqueue. What open repaired or
 * noticed (a torn write cut after a crash, a stale lock taken over) is printed on stderr, one
 * `mudsync: warning:` line each.
 */
import { type DexieQueueStore, openDexieStore } from "../../stores/dexie/index.ts";
import type { CommandContext } from "../shared/context.ts";

export type LocalQueueStore = DexieQueueStore;

export async function openQueueStore(ctx: CommandContext, mode: "read" | "write", command: string): Promise<LocalQueueStore> {
  const store = await openDexieStore({ dir: ctx.config.store, mode, command });
  for (const warning of store.warnings) process.stderr.write(`mudsync: warning: ${warning}\n`);
  return store;
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
