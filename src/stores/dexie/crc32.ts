/**
 * CRC-32 (IEEE 802.3, the zlib polynomial), table-driven. Node 20 has no zlib.crc32; this guards
 * every line of the queue's write-ahead log and snapshot files.
 */

const TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 of bytes [start, end) of buf, as an unsigned 32-bit number. */
export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  let c = -1;
  for (let i = start; i < end; i++) c = TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** The checksum as the 8 lower-case hex digits written in front of each line. */
export function crc32Hex(buf: Uint8Array, start = 0, end = buf.length): string {
  return crc32(buf, start, end).toString(16).padStart(8, "0");
}
