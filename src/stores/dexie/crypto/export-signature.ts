/**
 * Signed exports (`queue export --sign`): every row of the export carries `$mac`, an HMAC-SHA256
 * (entry-mac.ts, keyed from the store key for the "export" purpose) over the row's index, whether
 * it is the last row, and the row's JSON without `$mac`. An altered, removed, added or reordered
 * row fails at the first row out of place; a file cut short fails for want of its signed last
 * row. The import checks every row before it stores anything and strips `$mac`.
 */
import { InvalidInputError, StoreKeyError } from "../../../errors.ts";
import { EntryMac, macKey } from "./entry-mac.ts";
import type { StoreKey } from "./store-key.ts";

export const ROW_MAC_FIELD = "$mac";

const text = (index: number, last: boolean, json: string) => `${index}\n${last ? "last" : "row"}\n${json}`;

/** Signs rows in order; wrap the batches with `signedBatches` so the last row is known. */
export class ExportSigner {
  private readonly mac: EntryMac;
  private index = 0;

  constructor(key: StoreKey) {
    this.mac = new EntryMac(macKey(key.key, "export"));
  }

  private sign(row: unknown, last: boolean): Record<string, unknown> {
    const json = JSON.stringify(row);
    return { ...(row as Record<string, unknown>), [ROW_MAC_FIELD]: this.mac.tag(text(this.index++, last, json)) };
  }

  /** The batches with every row signed (one batch is held back to know which row is last). */
  async *signedBatches(batches: AsyncIterable<readonly unknown[]> | Iterable<readonly unknown[]>): AsyncGenerator<unknown[]> {
    let held: readonly unknown[] | undefined;
    for await (const batch of batches) {
      if (batch.length === 0) continue;
      if (held) yield held.map((r) => this.sign(r, false));
      held = batch;
    }
    if (held) yield held.map((r, i) => this.sign(r, i === held!.length - 1));
  }
}

/**
 * Checks the rows of one export file in order. A file is signed when its first row carries
 * `$mac`; then every row must, and a key must be given. `check` throws InvalidInputError naming
 * the first bad row; `finish` throws when the file ended before its signed last row.
 */
export class ExportVerifier {
  private readonly mac: EntryMac | undefined;
  private signed: boolean | undefined;
  private lastAt: number | undefined;
  private rows = 0;

  constructor(
    private readonly file: string,
    key: StoreKey | undefined,
  ) {
    this.mac = key ? new EntryMac(macKey(key.key, "export")) : undefined;
  }

  check(index: number, path: string, value: Record<string, unknown> | undefined): void {
    this.rows++;
    const tag = value?.[ROW_MAC_FIELD];
    this.signed ??= tag !== undefined;
    if (!this.signed) return;
    const name = `row ${index}${typeof value?.id === "string" ? ` (event ${value.id})` : typeof value?.key === "string" ? ` (cache key ${value.key})` : ""}`;
    const bad = (why: string) => new InvalidInputError(this.file, `${path}, ${name}`, `${why}; nothing was imported`);
    if (!this.mac) throw new StoreKeyError(`${this.file}: a signed export; set MUDSYNC_KEY_FILE (or MUDSYNC_KEY) to the key it was signed with to import it`);
    if (this.lastAt !== undefined) throw bad(`the export's signed last row was row ${this.lastAt}: rows were added after it`);
    if (value === undefined || typeof tag !== "string") throw bad("the row carries no signature in a signed export (altered)");
    const { [ROW_MAC_FIELD]: _tag, ...row } = value;
    const json = JSON.stringify(row);
    if (this.mac.check(text(index, false, json), tag)) return;
    if (this.mac.check(text(index, true, json), tag)) {
      this.lastAt = index;
      return;
    }
    throw bad("the row does not match its signature (altered, moved, or signed with another key)");
  }

  finish(): void {
    if (this.signed && this.lastAt === undefined) {
      throw new InvalidInputError(this.file, `row ${this.rows}`, "the signed export ends before its signed last row (rows were removed from its end); nothing was imported");
    }
  }
}

/** A row as stored: without its signature. */
export function withoutSignature(value: Record<string, unknown>): Record<string, unknown> {
  if (!(ROW_MAC_FIELD in value)) return value;
  const { [ROW_MAC_FIELD]: _tag, ...row } = value;
  return row;
}
