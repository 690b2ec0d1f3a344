/**
 * The ids seen in one pass over an export, each with a number the caller gives (where its row was),
 * kept compact: the ids' UTF-8 bytes side by side in one growing buffer and an open-addressing hash
 * table of entry numbers, instead of a Map of strings. A Map held about 300 bytes per id, which made
 * a 200k-row import's memory grow with the file; this holds the bytes of the ids and 16 more each.
 */

const EMPTY = -1;

export class IdSet {
  private bytes = Buffer.alloc(1 << 16);
  private used = 0;
  /** per entry: start in `bytes`, length, and the caller's number */
  private starts = new Uint32Array(1024);
  private lengths = new Uint32Array(1024);
  private values = new Float64Array(1024);
  private count = 0;
  /** entry numbers by hash slot; EMPTY when free */
  private slots = new Int32Array(2048).fill(EMPTY);

  get size(): number {
    return this.count;
  }

  /** The number stored with `id`, or undefined; when absent, stores `value` with it. */
  getOrAdd(id: string, value: number): number | undefined {
    const key = Buffer.from(id, "utf8");
    const mask = this.slots.length - 1;
    for (let slot = hash(key) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === EMPTY) {
        this.add(key, value, slot);
        return undefined;
      }
      if (this.lengths[entry] === key.length && key.equals(this.bytes.subarray(this.starts[entry]!, this.starts[entry]! + key.length))) {
        return this.values[entry];
      }
    }
  }

  private add(key: Buffer, value: number, slot: number): void {
    if (this.used + key.length > this.bytes.length) {
      const next = Buffer.alloc(Math.max(this.bytes.length * 2, this.used + key.length));
      this.bytes.copy(next, 0, 0, this.used);
      this.bytes = next;
    }
    if (this.count === this.starts.length) {
      this.starts = grow(this.starts, new Uint32Array(this.count * 2));
      this.lengths = grow(this.lengths, new Uint32Array(this.count * 2));
      this.values = grow(this.values, new Float64Array(this.count * 2));
    }
    key.copy(this.bytes, this.used);
    this.starts[this.count] = this.used;
    this.lengths[this.count] = key.length;
    this.values[this.count] = value;
    this.slots[slot] = this.count;
    this.used += key.length;
    this.count += 1;
    // keep the table at most half full so probes stay short
    if (this.count * 2 > this.slots.length) this.rehash();
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(EMPTY);
    const mask = slots.length - 1;
    for (let entry = 0; entry < this.count; entry++) {
      const key = this.bytes.subarray(this.starts[entry]!, this.starts[entry]! + this.lengths[entry]!);
      let slot = hash(key) & mask;
      while (slots[slot] !== EMPTY) slot = (slot + 1) & mask;
      slots[slot] = entry;
    }
    this.slots = slots;
  }
}

function grow<T extends Uint32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** FNV-1a over the bytes, 32 bits. */
function hash(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
