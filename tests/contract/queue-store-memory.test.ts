/**
 * The QueueStore contract on the in-memory store `bench batching` drains: its figures stand for the
 * real pipeline only if it claims, settles and releases as the local store does.
 */
import { MemoryQueueStore } from "../../src/stores/memory/memory-queue-store.ts";
import { queueStoreContract } from "./queue-store-contract.ts";

queueStoreContract("memory", async () => ({ store: new MemoryQueueStore(), cleanup: async () => {} }));
