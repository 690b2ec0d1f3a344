/**
 * Sealing of the store's log records (write-ahead log, snapshots, part files): AES-256-GCM with a
 * fresh 96-bit random nonce per record. Only what is secret is sealed, the events' `payload` and
 * the cache entries' `data`; every other field (id, status, timestamps, entity, cache key, ttl)
 * stays in the row as it was, so the in-memory indexes are rebuilt without a key for them and a
 * reader can tell which rows a record holds. The sealed values travel beside the rows:
 *
 *   {"k":"ev","rows":[{…,"payload":0,…},…],"s":{"kid":"…","n":"<nonce>","c":"<ciphertext+tag>"}}
 *
 * `c` is the JSON array of the rows' values, in row order (`u` lists the rows that had none). The
 * record's kind and row ids are the cipher's additional data, so a sealed part cannot be moved to
 * other rows. One cipher call per record, not per row: a record holds up to a thousand rows.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { StoreKeyError } from "../../../errors.ts";
import type { StoreKey } from "./store-key.ts";

const ALGORITHM = "aes-256-gcm";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** The sealed values of a record's rows. */
export interface SealedPart {
  /** id of the key that sealed it (store-key.ts) */
  kid: string;
  /** nonce, base64 */
  n: string;
  /** ciphertext followed by the 16-byte tag, base64 */
  c: string;
  /** rows without a value */
  u?: number[];
}

/** The shape of a record this module seals: a kind, rows, and the sealed part once sealed. */
export interface SealableRecord {
  k: string;
  rows?: unknown[];
  s?: SealedPart;
}

/** Which field of a row is secret, and which names the row, per record kind. */
const SEALED_FIELDS: Record<string, { secret: string; name: string }> = {
  ev: { secret: "payload", name: "id" },
  cache: { secret: "data", name: "key" },
};

/** A sealed record that did not open: its bytes were changed (the key was right). */
export class AlteredRecordError extends Error {}

function additionalData(k: string, rows: readonly Record<string, unknown>[], name: string): Buffer {
  let text = k;
  for (const r of rows) text += `\n${String(r[name])}`;
  return Buffer.from(text, "utf8");
}

export class RecordCipher {
  private readonly keys = new Map<string, StoreKey>();

  /**
   * Seals with `sealKey`; opens records sealed with it or with any key of `keyring`.
   * `acceptsPlain`: row records that are not sealed are read as they are (a store being
   * encrypted); otherwise such a record in an encrypted store counts as altered.
   */
  constructor(
    readonly sealKey: StoreKey,
    keyring: readonly StoreKey[] = [],
    readonly acceptsPlain = false,
  ) {
    for (const k of [sealKey, ...keyring]) this.keys.set(k.id, k);
  }

  /** The record with its secret values sealed (the same record if its kind holds none). */
  seal<R extends SealableRecord>(record: R): R {
    const spec = SEALED_FIELDS[record.k];
    if (!spec || !record.rows || record.s) return record;
    const rows = record.rows as Record<string, unknown>[];
    const values = new Array<unknown>(rows.length);
    const bare = new Array<Record<string, unknown>>(rows.length);
    let absent: number[] | undefined;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const value = row[spec.secret];
      if (value === undefined) (absent ??= []).push(i);
      values[i] = value === undefined ? null : value;
      // the value's place is kept (0), so that an opened row has its fields in their order
      bare[i] = { ...row, [spec.secret]: 0 };
    }
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.sealKey.key, nonce);
    cipher.setAAD(additionalData(record.k, rows, spec.name));
    const head = cipher.update(JSON.stringify(values), "utf8");
    const tail = cipher.final();
    const sealed: SealedPart = {
      kid: this.sealKey.id,
      n: nonce.toString("base64"),
      c: Buffer.concat([head, tail, cipher.getAuthTag()]).toString("base64"),
      ...(absent ? { u: absent } : {}),
    };
    return { ...record, rows: bare, s: sealed };
  }

  /**
   * Opens a sealed record in place (its rows get their values back, `s` goes). Throws
   * StoreKeyError for a record sealed with a key this cipher does not hold, and
   * AlteredRecordError when the record does not authenticate.
   */
  open<R extends SealableRecord>(record: R, where: string): R {
    const sealed = record.s;
    const spec = SEALED_FIELDS[record.k];
    if (!sealed || !spec || !Array.isArray(record.rows)) throw new AlteredRecordError(`${where}: ${record.k} record is not sealed`);
    const key = this.keys.get(sealed.kid);
    if (!key) throw new StoreKeyError(`${where}: record sealed with key id ${sealed.kid}, not with the key given (id ${this.sealKey.id})`);
    const rows = record.rows as Record<string, unknown>[];
    let values: unknown[];
    try {
      const bytes = Buffer.from(sealed.c, "base64");
      const decipher = createDecipheriv(ALGORITHM, key.key, Buffer.from(sealed.n, "base64"));
      decipher.setAAD(additionalData(record.k, rows, spec.name));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const text = Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)), decipher.final()]).toString("utf8");
      values = JSON.parse(text) as unknown[];
    } catch (error) {
      throw new AlteredRecordError(`${where}: ${record.k} record fails authentication (altered)`, { cause: error });
    }
    if (!Array.isArray(values) || values.length !== rows.length) throw new AlteredRecordError(`${where}: ${record.k} record's sealed values do not match its rows`);
    for (let i = 0; i < rows.length; i++) rows[i]![spec.secret] = values[i];
    for (const i of sealed.u ?? []) if (rows[i]) delete rows[i]![spec.secret];
    delete record.s;
    return record;
  }
}

/** Whether records of this kind hold secret values (and so must be sealed in an encrypted store). */
export function isSealedKind(k: string): boolean {
  return SEALED_FIELDS[k] !== undefined;
}
