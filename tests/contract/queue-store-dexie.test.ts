/** Runs the QueueStore contract against the Dexie store in a fresh temp directory per test. */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { openDexieStore } from "../../src/stores/dexie/index.ts";
import { queueStoreContract } from "./queue-store-contract.ts";

queueStoreContract("dexie", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mudsync-contract-"));
  const store = await openDexieStore({ dir, mode: "write", command: "contract test" });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
