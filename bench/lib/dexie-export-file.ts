/**
 * Writes a queue export in the dexie-export-import format (`formatName: "dexie"`) of the browser
 * app's `EventQueueDB`, streaming rows so that a 1M-event file never sits in memory.
 */
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { stat } from "node:fs/promises";
import { prng } from "../../src/sim/seeded-random.ts";
import { queueEvent } from "./events.ts";

export const EVENTS_SCHEMA = "id,status,timestamp,[status+timestamp]";

export interface ExportFileInfo {
  file: string;
  events: number;
  bytes: number;
}

export async function writeDexieExport(file: string, events: number, seed = 1): Promise<ExportFileInfo> {
  const out = createWriteStream(file, { encoding: "utf8" });
  const write = async (chunk: string) => {
    if (!out.write(chunk)) await once(out, "drain");
  };
  const meta = {
    formatName: "dexie",
    formatVersion: 1,
    data: {
      databaseName: "EventQueueDB",
      databaseVersion: 1,
      tables: [{ name: "events", schema: EVENTS_SCHEMA, rowCount: events }],
    },
  };
  const head = JSON.stringify(meta);
  // same layout as dexie-export-import: the meta object, then data.data with one table's rows
  await write(`${head.slice(0, -2)},"data":[{"tableName":"events","inbound":true,"rows":[`);
  const rand = prng(seed);
  const baseTime = Date.UTC(2024, 0, 1);
  let chunk = "";
  for (let i = 0; i < events; i++) {
    chunk += (i ? "," : "") + JSON.stringify(queueEvent(i, events, rand, baseTime));
    if (chunk.length > 1 << 16) {
      await write(chunk);
      chunk = "";
    }
  }
  await write(`${chunk}]}]}}`);
  out.end();
  await once(out, "finish");
  return { file, events, bytes: (await stat(file)).size };
}
