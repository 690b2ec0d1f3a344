/**
 * Child process for the store crash test: opens the store in argv[2] for writing and enqueues
 * events from several concurrent loops forever, printing each id on stdout only after its
 * enqueue resolved. With argv[3] = "hold" it only opens the store, prints "ready" and waits.
 */
import { openDexieStore } from "../../src/stores/dexie/index.ts";

const dir = process.argv[2];
if (!dir) throw new Error("usage: store-child.ts DIR [hold]");
const store = await openDexieStore({ dir, mode: "write", command: "store-child" });

if (process.argv[3] === "hold") {
  process.stdout.write("ready\n");
  setInterval(() => undefined, 1000);
} else {
  const prefix = `${process.pid}-`;
  let n = 0;
  const loop = async () => {
    for (;;) {
      const id = `${prefix}${n++}`;
      await store.enqueue([
        {
          id,
          type: "update",
          entity: "well",
          entityId: `w${n % 17}`,
          payload: { n, text: "x".repeat(n % 300) },
          timestamp: Date.now(),
          status: "pending",
          retryCount: 0,
        },
      ]);
      process.stdout.write(`${id}\n`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, loop));
}
