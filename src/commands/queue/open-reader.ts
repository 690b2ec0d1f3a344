/**
 * Opens the queue an inspection command (`queue ls`, `show`, `stats`) reads: the local store in
 * read mode, or with `--queue postgres://…` the shared Postgres queue through its read-only
 * reader (no daemon needed, nothing migrated or written). Both are behind the same QueueReader.
 */
import type { QueueReader } from "../../core/ports.ts";
import type { CommandContext } from "../shared/context.ts";
import { withQueueStore } from "./open-store.ts";

/** Runs `fn` with the open reader and the name of what it reads (store directory or masked URL); always closes it. */
export async function withQueueReader<T>(
  ctx: CommandContext,
  queueUrl: string | undefined,
  command: string,
  fn: (reader: QueueReader, source: string) => Promise<T>,
): Promise<T> {
  if (queueUrl === undefined) return withQueueStore(ctx, "read", command, (store) => fn(store, ctx.config.store));
  const { openPostgresQueueReader } = await import("../../stores/postgres/queue-reader.ts");
  const reader = await openPostgresQueueReader({ url: queueUrl, schema: ctx.config.queueSchema });
  try {
    return await fn(reader, reader.label);
  } finally {
    await reader.close();
  }
}
