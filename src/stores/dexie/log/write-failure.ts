/**
 * Turns the file system's refusal to write a store file (disk full, quota, read-only, I/O error)
 * into a StoreWriteError: one line naming the file, what the system said and what became of the
 * write, instead of an unexpected error with a stack. Other errors pass through unchanged.
 */
import { StoreWriteError } from "../../../errors.ts";

const DESCRIBED: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EROFS: "the file system is read-only",
  EIO: "I/O error",
  EFBIG: "file too large for the file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
};

/**
 * The error to report for a failed write of `file`; `outcome` says what it means for the data
 * (e.g. "nothing was imported").
 */
export function storeWriteError(error: unknown, file: string, outcome: string): unknown {
  if (error instanceof StoreWriteError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== "string" || !/^E[A-Z0-9]+$/.test(code)) return error;
  const what = DESCRIBED[code] ?? (error as Error).message;
  return new StoreWriteError(file, code, `cannot write store file ${file}: ${what} (${code}); ${outcome}`, { cause: error });
}
