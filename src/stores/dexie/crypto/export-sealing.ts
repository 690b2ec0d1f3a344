/**
 * Encrypted exports (`queue export --encrypt`): each row's secret value (an event's `payload`, a
 * cache entry's `data`) is replaced by `{"$sealed": {kid, n, c}}`, sealed on its own with the
 * store key as the store seals a record (record-cipher.ts: AES-256-GCM, fresh nonce, the row's id
 * as additional data). The row keeps its shape, so the file still validates as an export; `queue
 * import` opens the values with the key, and refuses a row that does not open, naming it.
 */
import { InvalidInputError, StoreKeyError } from "../../../errors.ts";
import { AlteredRecordError, type RecordCipher, type SealableRecord, type SealedPart } from "./record-cipher.ts";

const FIELDS = { events: { k: "ev", field: "payload" }, cache: { k: "cache", field: "data" } } as const;
export const SEALED_VALUE = "$sealed";

type Table = keyof typeof FIELDS;

/** The row with its secret value sealed. */
export function sealExportRow(cipher: RecordCipher, table: Table, row: Record<string, unknown>): Record<string, unknown> {
  const { k, field } = FIELDS[table];
  const sealed: SealableRecord = cipher.seal({ k, rows: [row] });
  return { ...row, [field]: { [SEALED_VALUE]: sealed.s } };
}

function sealedPart(table: Table, row: Record<string, unknown>): SealedPart | undefined {
  const value = row[FIELDS[table].field];
  if (typeof value !== "object" || value === null || !(SEALED_VALUE in value)) return undefined;
  return (value as Record<string, unknown>)[SEALED_VALUE] as SealedPart;
}

/**
 * The row with its secret value opened (the same row when it is not sealed). Throws StoreKeyError
 * without the key, InvalidInputError naming the row when the value does not open.
 */
export function openExportRow(
  cipher: RecordCipher | undefined,
  table: Table,
  row: Record<string, unknown>,
  where: { file: string; path: string; index: number },
): Record<string, unknown> {
  const part = sealedPart(table, row);
  if (part === undefined) return row;
  if (!cipher) throw new StoreKeyError(`${where.file}: an encrypted export; set MUDSYNC_KEY_FILE (or MUDSYNC_KEY) to the key it was written with to import it`);
  const { k, field } = FIELDS[table];
  const record = { k, rows: [{ ...row }], s: part };
  try {
    return cipher.open(record, where.file).rows[0] as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof AlteredRecordError)) throw error;
    throw new InvalidInputError(where.file, `${where.path}, row ${where.index}`, `the row's sealed ${field} does not open (altered); nothing was imported`);
  }
}
