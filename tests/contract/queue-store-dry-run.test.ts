/**
 * The QueueStore contract on the in-memory queue a dry run drains (core/dry-run-queue.ts): it must
 * claim, settle and release as the local store does, or a dry run would not predict the real run.
 */
import { DryRunQueue } from "../../src/core/dry-run-queue.ts";
import { queueStoreContract } from "./queue-store-contract.ts";

queueStoreContract("dry-run queue", async () => ({ store: new DryRunQueue([]), cleanup: async () => {} }));
