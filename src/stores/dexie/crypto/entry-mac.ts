/**
 * HMAC-SHA256 tags for what must not be altered unnoticed: cache entries (a tag beside each
 * entry, checked on every read) and the rows of a signed export. Keys are derived from the store
 * key with HKDF, one per purpose, so a tag never reveals anything about the encryption key and a
 * cache tag cannot pass as an export signature.
 */
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";

export type MacPurpose = "cache" | "export";

/** The MAC key for `purpose`, derived from 32 bytes of key material. */
export function macKey(material: Buffer, purpose: MacPurpose): Buffer {
  return Buffer.from(hkdfSync("sha256", material, Buffer.alloc(0), `mudsync ${purpose} mac`, 32));
}

export class EntryMac {
  constructor(private readonly key: Buffer) {}

  /** base64url tag over the given text */
  tag(text: string): string {
    return createHmac("sha256", this.key).update(text, "utf8").digest("base64url");
  }

  /** Whether `tag` is this key's tag of text (compared in constant time). */
  check(text: string, tag: unknown): boolean {
    if (typeof tag !== "string") return false;
    const want = Buffer.from(this.tag(text), "utf8");
    const got = Buffer.from(tag, "utf8");
    return want.length === got.length && timingSafeEqual(want, got);
  }
}
