/**
 * Child process for the store crash test: opens the store in argv[2] for writing and enqueues
 * events from several concurrent loops forever, printing each id on stdout only after its
 * enqueue resolved. With argv[3] = "hold" it only opens the store, prints "ready" and waits.
 * With argv[3] = "compact" the log is compacted every 64 KiB, and one more loop claims events and
 * settles them, printing "s <id>" once the settle resolved.
 */
import { openDexieStore } from "../../src/stores/dexie/index.ts";

const dir = process.argv[2];
if (!dir) throw new Error("usage: store-child.ts DIR [hold|compact]");
const compacting = process.argv[3] === "compact";
const store = await openDexieStore({ dir, mode: "write", command: "store-child", ...(compacting ? { compactMinBytes: 64 * 1024 } : {}) });

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
  const settle = async () => {
    for (;;) {
      const claimed = await store.claim({ limit: 20, leaseMs: 60_000, now: Date.now(), owner: `child-${process.pid}` });
      if (claimed.length === 0) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      await store.update(claimed.map((e) => ({ id: e.id, changes: { status: "completed" as const, completedAt: Date.now() }, note: `settled by ${process.pid}` })));
      for (const e of claimed) process.stdout.write(`s ${e.id}\n`);
    }
  };
  await Promise.all([...Array.from({ length: 8 }, loop), ...(compacting ? [settle()] : [])]);
}
