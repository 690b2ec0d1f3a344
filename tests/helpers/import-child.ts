/**
 * Child process for the import crash test: streams argv[3] events (ids `imp-<n>`) into the store
 * in argv[2] through the streaming import, printing `rows <n>` as the rows are handed over and
 * `done` only once the import has resolved (committed and durable).
 */
import { importIntoDexieStore, type ImportRow } from "../../src/stores/dexie/index.ts";

const dir = process.argv[2];
const count = Number(process.argv[3]);
if (!dir || !Number.isInteger(count)) throw new Error("usage: import-child.ts DIR COUNT");

async function* rows(): AsyncGenerator<ImportRow> {
  for (let n = 0; n < count; n++) {
    if (n % 250 === 0) process.stdout.write(`rows ${n}\n`);
    yield {
      table: "events",
      value: {
        id: `imp-${n}`,
        type: "update",
        entity: "well",
        entityId: `w${n % 97}`,
        payload: { n, text: "x".repeat(n % 400) },
        timestamp: 1_700_000_000_000 + n,
        status: "pending",
        retryCount: 0,
      },
    };
  }
  process.stdout.write(`rows ${count}\n`);
}

const r = await importIntoDexieStore({ dir, command: "import-child", chunkRows: 500 }, rows());
process.stdout.write(`done ${r.events.inserted} ${r.events.existing}\n`);
