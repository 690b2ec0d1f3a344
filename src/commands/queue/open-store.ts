/**
 * Opens the local Dexie queue store for a queue command: read mode for inspection commands (works
 * while a writer holds the lock), write mode for import and enqueue. Prints the one-line repair
 * notice on stderr when opening had to recover from a torn write.
 */
import type { CacheStore, QueueStore } from "../../core/ports.ts";
import type { CommandContext } from "../shared/context.ts";

/** The store as the queue commands use it (the Dexie adapter's public shape). */
export interface LocalQueueStore extends QueueStore {
  readonly cache: CacheStore;
  readonly recovered: unknown;
  atomic<T>(fn: () => Promise<T>): Promise<T>;
}

export async function openQueueStore(
  ctx: CommandContext,
  mode: "read" | "write",
  command: string,
): Promise<LocalQueueStore> {
  const { openDexieStore } = await import("../../stores/dexie/index.ts");
  const store = (await openDexieStore({ dir: ctx.config.store, mode, command })) as unknown as LocalQueueStore;
  if (store.recovered) {
    const detail = typeof store.recovered === "string" ? store.recovered : describe(store.recovered);
    process.stderr.write(`mudsync: warning: store ${ctx.config.store} was repaired on open: ${detail}\n`);
  }
  return store;
}

function describe(value: unknown): string {
  if (value && typeof value === "object" && "message" in value) return String((value as { message: unknown }).message);
  return JSON.stringify(value);
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
