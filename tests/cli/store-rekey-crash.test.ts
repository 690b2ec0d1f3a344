/**
 * `store rotate-key` and `store encrypt` killed (SIGKILL) between any two of their crash-safe
 * steps (tests/helpers/kill-at-rename.mjs stops the real binary at a chosen rename): every other
 * command then refuses the store with one line naming the command that finishes the conversion,
 * changing nothing; running that command again finishes it, and the store holds exactly what it
 * held before, sealed with the new key only.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeDexieExport } from "../../src/io/dexie-export/writer.ts";
import { runInProcess } from "../helpers/cli-in-process.ts";
import { fileHashes } from "../helpers/file-tree.ts";
import { errorLines, ROOT, run, tempDirs } from "./queue-run.ts";

const HOOK = path.join(ROOT, "tests/helpers/kill-at-rename.mjs");
const MARK = "ROTATION-PLAINTEXT";
const dirs = tempDirs();
afterAll(() => dirs.cleanup());

function keyFile(dir: string, name: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600 });
  return file;
}

async function filledStore(dir: string, key: string | undefined): Promise<{ store: string; listing: unknown }> {
  const file = path.join(dir, "events.json");
  const rows = Array.from({ length: 2000 }, (_, i) => ({
    id: `e${i}`, type: "update", entity: "well", entityId: `w${i % 31}`, payload: { note: `${MARK}-${i}` },
    timestamp: 1_700_000_000_000 + i, status: "pending", retryCount: 0,
  }));
  await writeDexieExport(file, { databaseName: "EventQueueDB", databaseVersion: 1 }, [rows]);
  const store = path.join(dir, "store");
  const env = key ? { MUDSYNC_KEY_FILE: key } : {};
  expect((await runInProcess(["queue", "import", file, "--store", store], { env })).code).toBe(0);
  const ls = await runInProcess(["queue", "ls", "--json", "--limit", "10000", "--store", store], { env });
  expect(ls.code, ls.stderr).toBe(0);
  return { store, listing: JSON.parse(ls.stdout) };
}

/** The points a conversion is killed at: a rename target, which occurrence, before or after it. */
const POINTS = [
  { name: "after the write-ahead note in KEYS", match: "/KEYS$", nth: 1, when: "after" },
  { name: "before the new snapshot is renamed into place", match: "snapshot-\\d+\\.ndjson$", nth: 1, when: "before" },
  { name: "after the new generation became current", match: "snapshot-\\d+\\.ndjson$", nth: 1, when: "after" },
  { name: "before KEYS names the new key", match: "/KEYS$", nth: 2, when: "before" },
] as const;

describe("a key conversion killed part way", () => {
  for (const point of POINTS) {
    it(`rotate-key killed ${point.name}: refused until the same command finishes it`, async () => {
      const dir = dirs.make();
      const oldKey = keyFile(dir, "old.key");
      const newKey = keyFile(dir, "new.key");
      const { store, listing } = await filledStore(dir, oldKey);
      const queue = path.join(store, "queue");

      const args = ["store", "rotate-key", "--new-key-file", newKey, "--store", store];
      const killed = await run(args, {
        env: {
          MUDSYNC_KEY_FILE: oldKey,
          NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${HOOK}`.trim(),
          MUDSYNC_KILL_AT_RENAME: point.match,
          MUDSYNC_KILL_AT_RENAME_NTH: String(point.nth),
          MUDSYNC_KILL_AT_RENAME_WHEN: point.when,
        },
      });
      expect(killed.code, killed.stderr).toBeNull();
      expect(JSON.parse(readFileSync(path.join(queue, "KEYS"), "utf8")).next).toMatch(/^[0-9a-f]{16}$/);

      // every other command refuses the store, with either key, and changes nothing
      const frozen = fileHashes(queue);
      for (const key of [oldKey, newKey]) {
        const r = await runInProcess(["queue", "ls", "--store", store], { env: { MUDSYNC_KEY_FILE: key } });
        expect(r.code).toBe(2);
        expect(errorLines(r.stderr)).toEqual([
          expect.stringMatching(/^mudsync: store .*: its conversion to key id [0-9a-f]{16} was interrupted; run `mudsync store rotate-key --new-key-file <the file of key [0-9a-f]{16}>` again to finish it$/),
        ]);
      }
      const other = await runInProcess(["store", "rotate-key", "--new-key-file", keyFile(dir, "third.key"), "--store", store], { env: { MUDSYNC_KEY_FILE: oldKey } });
      expect(other.code).toBe(2);
      expect(other.stderr).toContain("must be finished first, with that key");
      expect(fileHashes(queue)).toEqual(frozen);

      const resumed = await runInProcess([...args, "--json"], { env: { MUDSYNC_KEY_FILE: oldKey } });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(JSON.parse(resumed.stdout)).toMatchObject({ resumed: true, events: 2000 });
      expect(JSON.parse(readFileSync(path.join(queue, "KEYS"), "utf8")).next).toBeUndefined();
      const ls = await runInProcess(["queue", "ls", "--json", "--limit", "10000", "--store", store], { env: { MUDSYNC_KEY_FILE: newKey } });
      expect(ls.code, ls.stderr).toBe(0);
      expect(JSON.parse(ls.stdout)).toEqual(listing);
      expect((await runInProcess(["queue", "ls", "--store", store], { env: { MUDSYNC_KEY_FILE: oldKey } })).code).toBe(2);
      // only the new generation is left, and nothing in it is in clear
      const files = readdirSync(queue).sort();
      const gen = /^snapshot-(\d+)\.ndjson$/.exec(files[1] ?? "")?.[1];
      expect(files).toEqual(["KEYS", `snapshot-${gen}.ndjson`, `wal-${gen}.log`]);
      for (const name of readdirSync(queue)) expect(readFileSync(path.join(queue, name)).includes(MARK), name).toBe(false);
      const show = await runInProcess(["queue", "show", "e17", "--store", store], { env: { MUDSYNC_KEY_FILE: newKey } });
      expect(show.stdout).toContain(`${MARK}-17`);
    });
  }

  it("store encrypt killed before its new snapshot is in place: refused, then finished by running it again", async () => {
    const dir = dirs.make();
    const key = keyFile(dir, "store.key");
    const { store, listing } = await filledStore(dir, undefined);
    const killed = await run(["store", "encrypt", "--store", store], {
      env: {
        MUDSYNC_KEY_FILE: key,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${HOOK}`.trim(),
        MUDSYNC_KILL_AT_RENAME: "snapshot-\\d+\\.ndjson$",
      },
    });
    expect(killed.code).toBeNull();
    const refused = await runInProcess(["queue", "ls", "--store", store]);
    expect(refused.code).toBe(2);
    expect(errorLines(refused.stderr)).toEqual([expect.stringMatching(/was interrupted; run `mudsync store encrypt` again to finish it$/)]);
    const done = await runInProcess(["store", "encrypt", "--json", "--store", store], { env: { MUDSYNC_KEY_FILE: key } });
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ resumed: true, from: null, events: 2000 });
    const ls = await runInProcess(["queue", "ls", "--json", "--limit", "10000", "--store", store], { env: { MUDSYNC_KEY_FILE: key } });
    expect(JSON.parse(ls.stdout)).toEqual(listing);
    const queue = path.join(store, "queue");
    for (const name of readdirSync(queue)) expect(readFileSync(path.join(queue, name)).includes(MARK), name).toBe(false);
  });
});
