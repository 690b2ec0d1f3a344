/**
 * A row changed on the server reaches the local cache under the key the browser app uses: the
 * store is imported from the browser's own exports (queue and CacheDB), the daemon's reaction to
 * the change feed (rowSync over the sink's LISTEN feed) runs on it, and a change of
 * `chart_data_source` <id> must drop `chart:<id>`, as a change of `well` <id> drops `well:<id>`.
 * On PGlite (in process) and on the real server.
 */
import { readFileSync } from "node:fs";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TtlCache } from "../../src/core/cache.ts";
import { OptimisticStateManager } from "../../src/core/optimistic.ts";
import { systemClock, type WireEvent } from "../../src/core/ports.ts";
import { rowSync } from "../../src/daemon/row-sync.ts";
import { PgClient } from "../../src/postgres/pg-client.ts";
import { PgSink } from "../../src/sinks/pg/pg-sink.ts";
import { type DexieQueueStore, openDexieStore } from "../../src/stores/dexie/index.ts";
import { fixture, run, tempDirs } from "../cli/queue-run.ts";
import { createTestDatabase, realPgAvailable, type TestDatabase } from "../helpers/pg.ts";
import { createMigratedPglite } from "../helpers/pglite.ts";

const PG = await realPgAvailable();
const BACKENDS: ("pglite" | "pg")[] = PG ? ["pglite", "pg"] : ["pglite"];
const WAIT = { timeout: 10_000, interval: 20 };

const exported = JSON.parse(readFileSync(fixture("browser-cache-export.json"), "utf8")) as {
  data: { data: { rows: { key: string }[] }[] };
};
const exportedKeys = exported.data.data[0]!.rows.map((r) => r.key).sort();
const chartKeys = exportedKeys.filter((k) => k.startsWith("chart:"));
const chartId = chartKeys[0]!.slice("chart:".length);
const WELL_NFC = "well-\u00e9";
const WELL_NFD = "well-e\u0301";

let n = 0;
function ev(entity: string, entityId: string, type: WireEvent["type"], payload: Record<string, unknown>): WireEvent {
  n++;
  return { id: `inv-${n}-${Math.random().toString(36).slice(2, 8)}`, type, entity, entityId, payload, timestamp: 1_760_000_000_000 + n };
}

for (const kind of BACKENDS) {
  describe(`row changes on the server (${kind}) invalidate the browser app's cache keys`, () => {
    const dirs = tempDirs();
    let db: TestDatabase | undefined;
    let sink: PgSink;
    let store: DexieQueueStore;
    let unsubscribe: (() => Promise<void>) | undefined;
    const logs: Record<string, unknown>[] = [];

    /** Applies the events on the server and waits until the feed has handled a change of each row. */
    async function change(...events: WireEvent[]): Promise<Record<string, unknown>[]> {
      const from = logs.length;
      await sink.applyBatch(events);
      const handled = () =>
        events.map((e) => logs.slice(from).find((l) => l.event === "row_change" && l.entity === e.entity && l.id === e.entityId));
      await vi.waitFor(() => expect(handled().every(Boolean)).toBe(true), WAIT);
      return handled() as Record<string, unknown>[];
    }
    const cachedKeys = async () => (await store.cache.keysWithPrefix("")).sort();

    beforeAll(async () => {
      const dir = dirs.make("mudsync-invalidate-");
      const imported = await run(["--store", dir, "queue", "import", fixture("browser-export.json"), fixture("browser-cache-export.json")]);
      expect(imported.code, imported.stderr).toBe(0);
      store = await openDexieStore({ dir, mode: "write" });
      if (kind === "pg") {
        db = await createTestDatabase("mudsync_invalidate");
        sink = new PgSink(new PgClient({ url: db.url }), { schema: "mudsync" });
        await sink.migrate();
      } else {
        sink = await createMigratedPglite();
      }
      const logger = pino({ level: "debug" }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
      const onChange = rowSync({ cache: new TtlCache(store.cache, systemClock), optimistic: new OptimisticStateManager(), sink, logger });
      unsubscribe = await sink.subscribe((c) => void onChange(c));
    }, 60_000);

    afterAll(async () => {
      await unsubscribe?.();
      await sink?.close();
      await store?.close();
      await db?.drop();
      dirs.cleanup();
    });

    it("starts from the browser's cache: six charts and five well entries", async () => {
      expect(await cachedKeys()).toEqual(exportedKeys);
      expect(chartKeys).toHaveLength(6);
    });

    it("a chart_data_source change drops chart:<id> (and only it)", async () => {
      const entry = { id: "curve-inv-1", source: { type: "curve", curveId: "inv-1" }, displaySettings: { visible: true } };
      const [handled] = await change(ev("chart_data_source", chartId, "add", entry));
      expect(handled).toMatchObject({ entity: "chart_data_source", id: chartId, invalidated: 1 });
      expect(await cachedKeys()).toEqual(exportedKeys.filter((k) => k !== `chart:${chartId}`));
    });

    it("a well change drops well:<id>: the NFC id's entry, not its NFD twin's", async () => {
      expect(exportedKeys).toEqual(expect.arrayContaining([`well:${WELL_NFC}`, `well:${WELL_NFD}`]));
      const [handled] = await change(ev("well", WELL_NFC, "update", { status: "suspended" }));
      expect(handled).toMatchObject({ entity: "well", id: WELL_NFC, invalidated: 1 });
      const keys = await cachedKeys();
      expect(keys).not.toContain(`well:${WELL_NFC}`);
      expect(keys).toContain(`well:${WELL_NFD}`);
    });

    it("polygon and curve changes drop polygon:<id> and curve:<id> with the keys under them", async () => {
      const cache = new TtlCache(store.cache, systemClock);
      for (const k of ["polygon:p-inv", "polygon:p-inv:bounds", "curve:c-inv", "chart:c-inv", "polygon:p-inv0"]) await cache.set(k, { k });
      const [polygon, curve] = await change(ev("polygon", "p-inv", "add", { points: [] }), ev("curve", "c-inv", "add", { mnemonic: "GR" }));
      expect(polygon).toMatchObject({ invalidated: 2 });
      expect(curve).toMatchObject({ invalidated: 1 });
      const keys = await cachedKeys();
      expect(keys.filter((k) => k.includes("-inv"))).toEqual(["chart:c-inv", "polygon:p-inv0"]);
    });
  });
}
