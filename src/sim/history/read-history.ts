/**
 * Reads a history file back, one NDJSON line at a time, so `sim check` judges a long run without
 * holding it in memory. Every bad line is an InvalidInputError naming the file, the line, the
 * dot-path in the record and what was expected; a history must open with its header and close
 * with its end record.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { z } from "zod";
import { InvalidInputError } from "../../errors.ts";
import { HISTORY_RECORD_SCHEMAS, HISTORY_RECORD_TYPES, type HistoryRecord, type HistoryRecordType } from "./history-records.ts";

/** Longest line a history may hold: a record is a few hundred bytes, a final row at most a payload. */
export const MAX_HISTORY_LINE = 4 * 1024 * 1024;

export async function* readHistory(file: string): AsyncIterable<HistoryRecord> {
  const input = createReadStream(file, { encoding: "utf8" });
  const opened = new Promise<void>((resolve, reject) => {
    input.once("open", () => resolve());
    input.once("error", reject);
  });
  try {
    await opened;
  } catch (err) {
    throw unreadable(file, err);
  }
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  let last = 0;
  let sawHeader = false;
  let sawEnd = false;
  try {
    for await (const text of lines) {
      line += 1;
      if (text.trim() === "") continue;
      const at = `${file}:${line}`;
      if (text.length > MAX_HISTORY_LINE) throw new InvalidInputError(at, undefined, `a line of ${text.length} characters; expected at most ${MAX_HISTORY_LINE}`);
      if (sawEnd) throw new InvalidInputError(at, undefined, "type: expected nothing after the end record");
      const record = parseLine(at, text);
      if (!sawHeader && record.type !== "header") {
        throw new InvalidInputError(at, undefined, `type: expected the header record first, got ${JSON.stringify(record.type)}`);
      }
      if (sawHeader && record.type === "header") throw new InvalidInputError(at, undefined, "type: expected one header record, at the top; got a second one");
      sawHeader = true;
      if (record.type === "end") sawEnd = true;
      last = line;
      yield record;
    }
  } catch (err) {
    throw err instanceof InvalidInputError ? err : unreadable(file, err);
  } finally {
    lines.close();
    input.destroy();
  }
  if (!sawHeader) throw new InvalidInputError(file, undefined, "empty history; expected a header record on the first line");
  if (!sawEnd) {
    throw new InvalidInputError(file, undefined, `no end record after line ${last}; expected a last line {"type":"end",…} (was the run cut short?)`);
  }
}

function unreadable(file: string, err: unknown): InvalidInputError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "a directory, not a file" : `cannot read the file (${code ?? String(err)})`;
  return new InvalidInputError(file, undefined, `${why}; expected a history written by \`sim run --history\``, { cause: err });
}

/** Parses and validates one line; throws naming the first problem. */
export function parseLine(at: string, text: string): HistoryRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(at, undefined, `(root): expected one JSON object per line (${(err as Error).message})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidInputError(at, undefined, `(root): expected a JSON object, got ${describe(value)}`);
  }
  const type = (value as Record<string, unknown>)["type"];
  if (typeof type !== "string" || !(type in HISTORY_RECORD_SCHEMAS)) {
    throw new InvalidInputError(at, undefined, `type: expected one of ${HISTORY_RECORD_TYPES.join(", ")}, got ${describe(type)}`);
  }
  const schema: z.ZodType = HISTORY_RECORD_SCHEMAS[type as HistoryRecordType];
  const r = schema.safeParse(value);
  if (r.success) return r.data as HistoryRecord;
  const zodIssue = r.error.issues[0]!;
  const path = zodIssue.path.map(String).join(".") || "(root)";
  const got = valueAt(value, zodIssue.path);
  // a nullable field reports its inner type; say that null would do too
  const field = zodIssue.path.length === 1 ? (schema as z.ZodObject).shape[String(zodIssue.path[0])] : undefined;
  const orNull = zodIssue.code === "invalid_type" && got !== null && field?.safeParse(null).success ? " or null" : "";
  throw new InvalidInputError(at, undefined, `${path}: ${expectation(zodIssue, got, orNull)} (in a ${type} record)`);
}

/** What the schema wanted, as `expected …, got …`. */
function expectation(zodIssue: z.core.$ZodIssue, got: unknown, orNull = ""): string {
  switch (zodIssue.code) {
    case "invalid_type":
      return `expected ${zodIssue.expected === "nan" ? "a number" : article(zodIssue.expected)}${orNull}, got ${describe(got)}`;
    case "invalid_value":
      return `expected ${zodIssue.values.length === 1 ? JSON.stringify(zodIssue.values[0]) : `one of ${zodIssue.values.map((v) => JSON.stringify(v)).join(", ")}`}, got ${describe(got)}`;
    case "too_small":
      return `expected ${zodIssue.origin === "string" ? "a non-empty string" : `a number ${zodIssue.inclusive ? ">=" : ">"} ${String(zodIssue.minimum)}`}, got ${describe(got)}`;
    case "too_big":
      return `expected a number ${zodIssue.inclusive ? "<=" : "<"} ${String(zodIssue.maximum)}, got ${describe(got)}`;
    case "invalid_format":
    case "not_multiple_of":
      return `expected ${zodIssue.code === "not_multiple_of" ? "an integer" : zodIssue.format}, got ${describe(got)}`;
    default:
      return `expected a valid value (${zodIssue.message}), got ${describe(got)}`;
  }
}

function article(type: string): string {
  if (type === "int") return "an integer";
  if (type === "record") return "an object";
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}
