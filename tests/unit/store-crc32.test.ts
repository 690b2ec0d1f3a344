/** The log's CRC-32: known values, and the portable and native versions agree. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32, crc32Hex, crc32Portable } from "../../src/stores/dexie/log/crc32.ts";

describe("crc32", () => {
  it("matches known CRC-32 values", () => {
    expect(crc32Hex(Buffer.from("hello"))).toBe("3610a686");
    expect(crc32Hex(Buffer.from("123456789"))).toBe("cbf43926");
    expect(crc32(Buffer.alloc(0))).toBe(0);
  });

  it("gives the same value portable and native, on any slice", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const buf = Buffer.from(bytes);
        const start = buf.length ? a % buf.length : 0;
        const end = start + (buf.length - start ? b % (buf.length - start + 1) : 0);
        expect(crc32(buf, start, end)).toBe(crc32Portable(buf, start, end));
      }),
    );
  });
});
