/**
 * The store's crypto module (src/stores/dexie/crypto/): sealing records (wrong key, altered bytes,
 * fresh nonces, values back in their place), key loading (forms, file modes), cache tags and
 * signed or encrypted export rows.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidInputError, StoreKeyError } from "../../src/errors.ts";
import { AlteredRecordError, RecordCipher, type SealableRecord } from "../../src/stores/dexie/crypto/record-cipher.ts";
import { keyFromEnv, parseKey, readKeyFile, type StoreKey } from "../../src/stores/dexie/crypto/store-key.ts";
import { CacheTags } from "../../src/stores/dexie/crypto/cache-tags.ts";
import { macKey } from "../../src/stores/dexie/crypto/entry-mac.ts";
import { ExportSigner, ExportVerifier, ROW_MAC_FIELD } from "../../src/stores/dexie/crypto/export-signature.ts";
import { openExportRow, sealExportRow } from "../../src/stores/dexie/crypto/export-sealing.ts";

const newKey = (source = "test"): StoreKey => parseKey(Buffer.from(randomBytes(32).toString("hex")), source);

const rows = () => [
  { id: "a", entity: "well", payload: { secret: "alpha-secret", n: 1 }, timestamp: 1 },
  { id: "b", entity: "well", payload: { secret: "beta-secret", n: 2 }, timestamp: 2 },
];

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), "mudsync-crypto-"));
  dirs.push(d);
  return d;
};

/** A sealed record as it comes back from its line: parsed from its JSON. */
const throughJson = <T>(r: T): T => JSON.parse(JSON.stringify(r)) as T;

describe("RecordCipher", () => {
  it("seals the secret values only, and opens them back in their place", () => {
    const cipher = new RecordCipher(newKey());
    const record = { k: "ev", rows: rows() };
    const sealed = throughJson(cipher.seal(record) as SealableRecord);
    const text = JSON.stringify(sealed);
    expect(text).not.toContain("alpha-secret");
    expect(text).not.toContain("beta-secret");
    // the fields the indexes need stay readable
    expect((sealed.rows as { id: string; entity: string; timestamp: number }[]).map((r) => [r.id, r.entity, r.timestamp])).toEqual([["a", "well", 1], ["b", "well", 2]]);
    // the record handed in is untouched
    expect(record.rows[0]!.payload.secret).toBe("alpha-secret");
    const opened = cipher.open(sealed, "wal");
    expect(JSON.stringify(opened)).toBe(JSON.stringify({ k: "ev", rows: rows() }));
  });

  it("keeps a row without a value without one", () => {
    const cipher = new RecordCipher(newKey());
    const record = { k: "ev", rows: [{ id: "x", timestamp: 1 }, { id: "y", payload: null, timestamp: 2 }] };
    const opened = cipher.open(throughJson(cipher.seal(record) as SealableRecord), "wal");
    expect(opened.rows).toEqual([{ id: "x", timestamp: 1 }, { id: "y", payload: null, timestamp: 2 }]);
    expect("payload" in (opened.rows![0] as object)).toBe(false);
  });

  it("leaves records without secret values as they are", () => {
    const cipher = new RecordCipher(newKey());
    const hist = { k: "hist", rows: [{ eventId: "a", at: 1, to: "completed" }] };
    expect(cipher.seal(hist)).toBe(hist);
  });

  it("uses a fresh nonce for every record: the same rows seal to different bytes", () => {
    const cipher = new RecordCipher(newKey());
    const nonces = new Set<string>();
    const texts = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const s = cipher.seal({ k: "ev", rows: rows() }) as SealableRecord;
      nonces.add(s.s!.n);
      texts.add(s.s!.c);
    }
    expect(nonces.size).toBe(1000);
    expect(texts.size).toBe(1000);
    expect(Buffer.from([...nonces][0]!, "base64")).toHaveLength(12);
  });

  it("refuses a record sealed with another key, naming both key ids", () => {
    const a = newKey();
    const b = newKey();
    const sealed = throughJson(new RecordCipher(a).seal({ k: "ev", rows: rows() }) as SealableRecord);
    expect(() => new RecordCipher(b).open(sealed, "wal-000001.log")).toThrow(StoreKeyError);
    expect(() => new RecordCipher(b).open(throughJson(sealed), "wal-000001.log")).toThrow(new RegExp(`${a.id}.*${b.id}`));
    // a keyring that holds the old key opens it (a rotation in progress)
    expect(new RecordCipher(b, [a]).open(throughJson(sealed), "wal").rows).toEqual(rows());
  });

  it("detects altered ciphertext, an altered nonce, and rows swapped under a sealed part", () => {
    const cipher = new RecordCipher(newKey());
    const sealed = throughJson(cipher.seal({ k: "ev", rows: rows() }) as SealableRecord);

    const flipped = throughJson(sealed);
    const bytes = Buffer.from(flipped.s!.c, "base64");
    bytes[0] = bytes[0]! ^ 1;
    flipped.s!.c = bytes.toString("base64");
    expect(() => cipher.open(flipped, "wal")).toThrow(AlteredRecordError);

    const nonce = throughJson(sealed);
    const n = Buffer.from(nonce.s!.n, "base64");
    n[11] = n[11]! ^ 0x80;
    nonce.s!.n = n.toString("base64");
    expect(() => cipher.open(nonce, "wal")).toThrow(AlteredRecordError);

    // the ids are the additional data: the sealed values cannot be moved onto other rows
    const renamed = throughJson(sealed);
    (renamed.rows as { id: string }[])[1]!.id = "c";
    expect(() => cipher.open(renamed, "wal")).toThrow(/fails authentication/);

    // the kind too: an event record's part does not open as a cache record's
    expect(() => cipher.open({ ...throughJson(sealed), k: "cache" }, "wal")).toThrow(AlteredRecordError);
  });
});

describe("store keys", () => {
  it("reads hex, base64 and raw keys, all naming the same key by one id", () => {
    const raw = randomBytes(32);
    const hex = parseKey(Buffer.from(`${raw.toString("hex")}\n`), "hex");
    const b64 = parseKey(Buffer.from(raw.toString("base64")), "b64");
    const bytes = parseKey(raw, "raw", { raw: true });
    expect(hex.key.equals(raw)).toBe(true);
    expect(new Set([hex.id, b64.id, bytes.id]).size).toBe(1);
    expect(hex.id).toMatch(/^[0-9a-f]{16}$/);
    expect(hex.id).not.toContain(raw.toString("hex").slice(0, 16));
  });

  it("refuses what is not a 256-bit key, in one line naming where it came from; raw bytes only from a file", async () => {
    for (const text of ["", "abc", "z".repeat(64), randomBytes(15).toString("hex")]) {
      expect(() => parseKey(Buffer.from(text), "MUDSYNC_KEY")).toThrow(/^MUDSYNC_KEY: expected a 256-bit key/);
    }
    // 32 characters are a short hex key mistyped, not raw bytes, when they come from the environment
    await expect(keyFromEnv({ MUDSYNC_KEY: randomBytes(16).toString("hex") })).rejects.toThrow(/^MUDSYNC_KEY: expected a 256-bit key/);
    const file = path.join(tempDir(), "raw.key");
    const raw = randomBytes(32);
    writeFileSync(file, raw, { mode: 0o600 });
    expect((await readKeyFile(file, "f")).key.equals(raw)).toBe(true);
  });

  it("refuses a key file that other accounts may read, and reads one of mode 0600 or 0400", async () => {
    const dir = tempDir();
    const file = path.join(dir, "key");
    writeFileSync(file, randomBytes(32).toString("hex"));
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      chmodSync(file, mode);
      const error = await readKeyFile(file, `MUDSYNC_KEY_FILE=${file}`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreKeyError);
      expect((error as Error).message).toContain(`mode 0${mode.toString(8)}`);
      expect((error as Error).message).toContain(`chmod 600 ${file}`);
    }
    for (const mode of [0o600, 0o400]) {
      chmodSync(file, mode);
      expect((await readKeyFile(file, "f")).key).toHaveLength(32);
    }
    await expect(readKeyFile(path.join(dir, "missing"), "MUDSYNC_KEY_FILE=missing")).rejects.toThrow(/MUDSYNC_KEY_FILE=missing: cannot be read \(ENOENT\)/);
  });

  it("takes the key from MUDSYNC_KEY_FILE or MUDSYNC_KEY, and refuses both at once", async () => {
    const dir = tempDir();
    const file = path.join(dir, "key");
    const hex = randomBytes(32).toString("hex");
    writeFileSync(file, hex, { mode: 0o600 });
    expect((await keyFromEnv({ MUDSYNC_KEY_FILE: "key" }, dir))!.key.toString("hex")).toBe(hex);
    expect((await keyFromEnv({ MUDSYNC_KEY: hex }, dir))!.source).toBe("MUDSYNC_KEY");
    expect(await keyFromEnv({}, dir)).toBeUndefined();
    await expect(keyFromEnv({ MUDSYNC_KEY: hex, MUDSYNC_KEY_FILE: file }, dir)).rejects.toThrow(StoreKeyError);
  });
});

describe("cache tags", () => {
  const tags = new CacheTags(macKey(randomBytes(32), "cache"));
  const entry = { key: "row:well:1", data: { name: "w" }, timestamp: 10, ttl: 1000, version: 3 };

  it("accepts an entry as tagged and rejects any change to key, data, times or version", () => {
    const tagged = tags.tagged(entry);
    expect(tags.check(tagged)).toBe("ok");
    expect(CacheTags.untagged(tagged)).toEqual(entry);
    for (const change of [{ key: "row:well:2" }, { data: { name: "x" } }, { timestamp: 11 }, { ttl: 1e9 }, { version: 4 }]) {
      expect(tags.check({ ...tagged, ...change })).toBe("altered");
    }
    expect(tags.check(entry)).toBe("untagged");
    expect(new CacheTags(macKey(randomBytes(32), "cache")).check(tagged)).toBe("altered");
  });
});

describe("signed exports", () => {
  const key = newKey();
  const exported = async (n: number, size = 3) => {
    const batches = [];
    for (let i = 0; i < n; i += size) batches.push(Array.from({ length: Math.min(size, n - i) }, (_, k) => ({ id: `e${i + k}`, payload: { v: i + k } })));
    const out: Record<string, unknown>[] = [];
    for await (const b of new ExportSigner(key).signedBatches(batches)) out.push(...(b as Record<string, unknown>[]));
    return throughJson(out);
  };
  const verify = (file: Record<string, unknown>[], k: StoreKey | null = key) => {
    const v = new ExportVerifier("export.json", k ?? undefined);
    file.forEach((row, i) => v.check(i, `data.data[0].rows[${i}]`, row));
    v.finish();
  };

  it("accepts the rows as signed, and an unsigned file as it is", async () => {
    const rowsOut = await exported(10);
    expect(rowsOut.every((r) => typeof r[ROW_MAC_FIELD] === "string")).toBe(true);
    expect(() => verify(rowsOut)).not.toThrow();
    expect(() => verify(rowsOut.map(({ [ROW_MAC_FIELD]: _m, ...r }) => r), null)).not.toThrow();
  });

  it("names the first bad row: altered, reordered, removed, added, cut short, another key, no key", async () => {
    const base = await exported(10);
    const altered = throughJson(base);
    (altered[6]!.payload as { v: number }).v = 99;
    expect(() => verify(altered)).toThrow(/rows\[6\], row 6 \(event e6\): the row does not match its signature/);
    expect(() => verify(altered)).toThrow(InvalidInputError);

    const swapped = throughJson(base);
    [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
    expect(() => verify(swapped)).toThrow(/row 2 \(event e3\)/);

    expect(() => verify(base.filter((_, i) => i !== 4))).toThrow(/row 4 \(event e5\)/);
    expect(() => verify(base.slice(0, 7))).toThrow(/ends before its signed last row/);
    expect(() => verify([...base, { ...base[0]!, id: "extra" }])).toThrow(/row 10 .*added after it/);
    const unsigned = throughJson(base);
    delete unsigned[5]![ROW_MAC_FIELD];
    expect(() => verify(unsigned)).toThrow(/row 5 .*carries no signature/);
    expect(() => verify(base, newKey())).toThrow(/row 0 /);
    expect(() => verify(base, null)).toThrow(StoreKeyError);
  });
});

describe("encrypted export rows", () => {
  it("seal the payload in place, open with the key, and refuse an altered row naming it", () => {
    const key = newKey();
    const cipher = new RecordCipher(key);
    const row = { id: "e1", type: "add", payload: { secret: "s3cr3t" }, timestamp: 5 };
    const sealed = throughJson(sealExportRow(cipher, "events", row));
    expect(JSON.stringify(sealed)).not.toContain("s3cr3t");
    expect(Object.keys(sealed)).toEqual(Object.keys(row));
    const where = { file: "x.json", path: "data.data[0].rows[0]", index: 0 };
    expect(openExportRow(cipher, "events", sealed, where)).toEqual(row);
    expect(() => openExportRow(undefined, "events", sealed, where)).toThrow(StoreKeyError);
    expect(() => openExportRow(cipher, "events", { ...sealed, id: "e2" }, where)).toThrow(/x\.json at data\.data\[0\]\.rows\[0\], row 0: the row's sealed payload does not open/);
    // a row that is not sealed is handed back as it is
    expect(openExportRow(undefined, "events", row, where)).toBe(row);
  });
});
