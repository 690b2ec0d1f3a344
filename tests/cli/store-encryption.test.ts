/**
 * Encryption at rest of the local store, through the CLI (in process): what lies on disk, a
 * wrong or missing key (one line, exit 2, the store unchanged byte for byte), a store that is not
 * encrypted (still read; `store encrypt` converts it), `store rotate-key`, and signed and
 * encrypted exports (an altered one refused, naming the first bad row).
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeDexieExport } from "../../src/io/dexie-export/writer.ts";
import { runInProcess } from "../helpers/cli-in-process.ts";
import { fileHashes, filesHolding } from "../helpers/file-tree.ts";
import { errorLines, tempDirs } from "./queue-run.ts";

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const MARK = "PLAINTEXT-MARKER";
const EVENTS = 300;

/** An events export and a cache export whose every secret value holds MARK. */
async function exports(dir: string): Promise<{ events: string; cache: string }> {
  const events = path.join(dir, "events.json");
  const cache = path.join(dir, "cache.json");
  const rows = Array.from({ length: EVENTS }, (_, i) => ({
    id: `evt-${String(i).padStart(4, "0")}`,
    type: "update",
    entity: "well",
    entityId: `well-${i % 7}`,
    payload: { note: `${MARK}-${i}`, depth: i },
    timestamp: 1_714_554_000_000 + i * 1000,
    status: i % 5 === 0 ? "completed" : "pending",
    retryCount: 0,
  }));
  await writeDexieExport(events, { databaseName: "EventQueueDB", databaseVersion: 1 }, [rows]);
  const entries = Array.from({ length: 5 }, (_, i) => ({ key: `row:well:well-${i}`, data: { name: `${MARK}-cache-${i}` }, timestamp: Date.now(), ttl: 3_600_000, version: 1 }));
  await writeDexieExport(cache, { databaseName: "CacheDB", databaseVersion: 1 }, [entries]);
  return { events, cache };
}

function keyFile(dir: string, name = "store.key"): string {
  const file = path.join(dir, name);
  writeFileSync(file, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
  return file;
}

const plaintextFiles = (dir: string) => filesHolding(dir, MARK);

const withKey = (file: string) => ({ env: { MUDSYNC_KEY_FILE: file } });
const ok = (r: { code: number | null; stderr: string }) => expect(r.code, r.stderr).toBe(0);

async function listAll(store: string, file?: string): Promise<unknown> {
  const r = await runInProcess(["queue", "ls", "--json", "--limit", "10000", "--store", store], file ? withKey(file) : {});
  ok(r);
  return JSON.parse(r.stdout);
}

async function exported(store: string, file: string | undefined, out: string): Promise<string> {
  const events = path.join(out, `out-${randomBytes(3).toString("hex")}.json`);
  ok(await runInProcess(["queue", "export", events, "--store", store], file ? withKey(file) : {}));
  return readFileSync(events, "utf8");
}

describe("an encrypted store", () => {
  it("holds no payload or cached data in plain text, and reads back what was imported", async () => {
    const dir = dirs.make();
    const { events, cache } = await exports(dir);
    const key = keyFile(dir);
    const store = path.join(dir, "store");
    ok(await runInProcess(["queue", "import", events, cache, "--store", store], withKey(key)));
    expect(existsSync(path.join(store, "queue", "KEYS"))).toBe(true);
    expect(plaintextFiles(store)).toEqual([]);

    const plain = path.join(dir, "plain");
    ok(await runInProcess(["queue", "import", events, cache, "--store", plain]));
    // the same data as a store that is not encrypted: same listing, same export bytes
    expect(plaintextFiles(plain).length).toBeGreaterThan(0);
    expect(await listAll(store, key)).toEqual(await listAll(plain));
    expect(await exported(store, key, dir)).toBe(await exported(plain, undefined, dir));
    const show = await runInProcess(["queue", "show", "evt-0003", "--store", store], withKey(key));
    expect(show.stdout).toContain(`${MARK}-3`);
  });

  it("refuses a wrong key or no key with one line and exit 2, changing nothing", async () => {
    const dir = dirs.make();
    const { events } = await exports(dir);
    const key = keyFile(dir);
    const wrong = keyFile(dir, "wrong.key");
    const store = path.join(dir, "store");
    ok(await runInProcess(["queue", "import", events, "--store", store], withKey(key)));
    const before = fileHashes(store);
    const id = JSON.parse(readFileSync(path.join(store, "queue", "KEYS"), "utf8")).key as string;

    const attempts: { args: string[]; env: NodeJS.ProcessEnv; says: RegExp }[] = [
      { args: ["queue", "ls"], env: { MUDSYNC_KEY_FILE: wrong }, says: new RegExp(`encrypted with key id ${id}, but MUDSYNC_KEY_FILE=.*wrong\\.key holds key id [0-9a-f]{16}: wrong key`) },
      { args: ["queue", "import", events], env: { MUDSYNC_KEY_FILE: wrong }, says: /wrong key/ },
      { args: ["queue", "export", path.join(dir, "x.json")], env: { MUDSYNC_KEY: randomBytes(32).toString("base64") }, says: /MUDSYNC_KEY holds key id .*: wrong key/ },
      { args: ["queue", "ls"], env: {}, says: new RegExp(`is encrypted \\(key id ${id}\\); set MUDSYNC_KEY_FILE \\(or MUDSYNC_KEY\\) to its key`) },
      { args: ["queue", "stats"], env: {}, says: /is encrypted/ },
      { args: ["queue", "import", events], env: {}, says: /is encrypted/ },
    ];
    for (const a of attempts) {
      const r = await runInProcess([...a.args, "--store", store], { env: a.env });
      expect(r.code, `${a.args.join(" ")}: ${r.stderr}`).toBe(2);
      const lines = errorLines(r.stderr);
      expect(lines, a.args.join(" ")).toHaveLength(1);
      expect(lines[0]).toMatch(a.says);
      expect(fileHashes(store), a.args.join(" ")).toEqual(before);
    }
    expect(existsSync(path.join(dir, "x.json"))).toBe(false);
  });

  it("refuses a key file that other accounts may read", async () => {
    const dir = dirs.make();
    const key = keyFile(dir);
    const { events } = await exports(dir);
    const store = path.join(dir, "store");
    const { chmodSync } = await import("node:fs");
    chmodSync(key, 0o644);
    const r = await runInProcess(["queue", "import", events, "--store", store], withKey(key));
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([`mudsync: MUDSYNC_KEY_FILE=${key}: mode 0644 lets other accounts read or change the key; expected 0600 (chmod 600 ${key})`]);
    expect(existsSync(store)).toBe(false);
  });
});

describe("a store that is not encrypted", () => {
  it("is still read with or without a key; store encrypt converts it and rotate-key re-seals it", async () => {
    const dir = dirs.make();
    const { events, cache } = await exports(dir);
    const store = path.join(dir, "store");
    ok(await runInProcess(["queue", "import", events, cache, "--store", store]));
    const listing = await listAll(store);
    const eventsBytes = await exported(store, undefined, dir);
    const cacheOut = path.join(dir, "cache-before.json");
    ok(await runInProcess(["queue", "export", path.join(dir, "e.json"), "--cache", cacheOut, "--store", store]));

    const key = keyFile(dir);
    const read = await runInProcess(["queue", "ls", "--json", "--limit", "10000", "--store", store], withKey(key));
    ok(read);
    expect(JSON.parse(read.stdout)).toEqual(listing);
    expect(read.stderr).toContain("is not encrypted (a key is set); `mudsync store encrypt` encrypts it");

    const noKey = await runInProcess(["store", "encrypt", "--store", store]);
    expect(noKey.code).toBe(2);
    expect(errorLines(noKey.stderr)).toEqual(["mudsync: store encrypt: no key; set MUDSYNC_KEY_FILE (a file of mode 0600) or MUDSYNC_KEY to the key to encrypt with"]);

    const enc = await runInProcess(["store", "encrypt", "--json", "--store", store], withKey(key));
    ok(enc);
    expect(JSON.parse(enc.stdout)).toMatchObject({ from: null, events: EVENTS, resumed: false, unchanged: false });
    expect(plaintextFiles(store)).toEqual([]);
    expect(existsSync(path.join(store, "queue", "CACHE_MAC_KEY"))).toBe(false);
    expect((await runInProcess(["queue", "ls", "--store", store])).code).toBe(2);
    expect(await listAll(store, key)).toEqual(listing);
    expect(await exported(store, key, dir)).toBe(eventsBytes);
    // cache entries were tagged anew with the store key: all still served
    const cacheAfter = path.join(dir, "cache-after.json");
    ok(await runInProcess(["queue", "export", path.join(dir, "e2.json"), "--cache", cacheAfter, "--store", store], withKey(key)));
    expect(readFileSync(cacheAfter, "utf8")).toBe(readFileSync(cacheOut, "utf8"));
    // a second run has nothing to do
    const again = await runInProcess(["store", "encrypt", "--store", store], withKey(key));
    ok(again);
    expect(again.stdout).toContain("already sealed");

    const next = keyFile(dir, "next.key");
    const rot = await runInProcess(["store", "rotate-key", "--new-key-file", next, "--json", "--store", store], withKey(key));
    ok(rot);
    expect(JSON.parse(rot.stdout)).toMatchObject({ events: EVENTS, resumed: false });
    const old = await runInProcess(["queue", "ls", "--store", store], withKey(key));
    expect(old.code).toBe(2);
    expect(old.stderr).toContain("wrong key");
    expect(await listAll(store, next)).toEqual(listing);
    expect(plaintextFiles(store)).toEqual([]);
    ok(await runInProcess(["queue", "export", path.join(dir, "e3.json"), "--cache", cacheAfter, "--store", store], withKey(next)));
    expect(readFileSync(cacheAfter, "utf8")).toBe(readFileSync(cacheOut, "utf8"));
  });
});

describe("signed and encrypted exports", () => {
  it("an altered signed export is refused on import, naming the first bad row; the intact one imports", async () => {
    const dir = dirs.make();
    const { events } = await exports(dir);
    const key = keyFile(dir);
    const store = path.join(dir, "store");
    ok(await runInProcess(["queue", "import", events, "--store", store]));
    const signed = path.join(dir, "signed.json");
    const noKey = await runInProcess(["queue", "export", signed, "--sign", "--store", store]);
    expect(noKey.code).toBe(2);
    ok(await runInProcess(["queue", "export", signed, "--sign", "--store", store], withKey(key)));
    const text = readFileSync(signed, "utf8");

    const target = path.join(dir, "target");
    ok(await runInProcess(["queue", "import", signed, "--store", target], withKey(key)));
    // a new store written with a key set is created encrypted
    expect(await listAll(target, key)).toEqual(await listAll(store));
    // the signature is not stored with the rows
    expect(await exported(target, key, dir)).toBe(await exported(store, undefined, dir));

    const altered = path.join(dir, "altered.json");
    writeFileSync(altered, text.replace(`"note":"${MARK}-41"`, `"note":"${MARK}-41!"`).replace(`"note":"${MARK}-97"`, `"note":"${MARK}-97!"`));
    const fresh = path.join(dir, "fresh");
    const r = await runInProcess(["queue", "import", altered, "--store", fresh], withKey(key));
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([
      `mudsync: ${altered} at data.data[0].rows[41], row 41 (event evt-0041): the row does not match its signature (altered, moved, or signed with another key); nothing was imported`,
    ]);
    expect(existsSync(fresh)).toBe(false);
    const unkeyed = await runInProcess(["queue", "import", signed, "--store", fresh]);
    expect(unkeyed.code).toBe(2);
    expect(unkeyed.stderr).toContain("a signed export; set MUDSYNC_KEY_FILE");
  });

  it("an encrypted export holds no payload in plain text and imports with the key", async () => {
    const dir = dirs.make();
    const { events, cache } = await exports(dir);
    const key = keyFile(dir);
    const store = path.join(dir, "store");
    ok(await runInProcess(["queue", "import", events, cache, "--store", store]));
    const out = path.join(dir, "enc.json");
    const outCache = path.join(dir, "enc-cache.json");
    ok(await runInProcess(["queue", "export", out, "--cache", outCache, "--encrypt", "--sign", "--store", store], withKey(key)));
    expect(readFileSync(out, "utf8")).not.toContain(MARK);
    expect(readFileSync(outCache, "utf8")).not.toContain(MARK);
    const target = path.join(dir, "target");
    const noKey = await runInProcess(["queue", "import", out, "--store", target], { env: {} });
    expect(noKey.code).toBe(2);
    ok(await runInProcess(["queue", "import", out, outCache, "--store", target], withKey(key)));
    expect(await exported(target, key, dir)).toBe(await exported(store, undefined, dir));
  });
});
