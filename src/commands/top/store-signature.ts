/**
 * What tells `top` that a store changed on disk since it was read: the current generation, the
 * sizes of its snapshot and log, and whether a writer holds the lock (a reader shows the writer's
 * leases only while it lives). Equal signatures: the read-only copy in memory is still current.
 */
import { readLock } from "../../stores/dexie/lock-file.ts";
import { currentGeneration, queueDirOf } from "../../stores/dexie/log/generation-files.ts";

export async function storeSignature(storeDir: string): Promise<string> {
  const queueDir = queueDirOf(storeDir);
  const [g, lock] = await Promise.all([currentGeneration(queueDir), readLock(queueDir).catch(() => undefined)]);
  return `${g.gen}:${g.snapshotBytes}:${g.walBytes}:${lock?.alive === true ? lock.pid : "-"}`;
}
