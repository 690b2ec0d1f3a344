/**
 * Streaming reader of dexie-export-import files. Reads the file in 64 KiB blocks, scans each
 * block (json-scanner.ts: the envelope token by token, each row whole; one await per block, not
 * per token) and yields validated rows one at a time with their index and JSON path. Memory holds
 * one block and one row, whatever the file size.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { verifyFile } from "stream-json/file/verifier.js";
import { InvalidDumpError, InvalidInputError } from "../../errors.ts";
import type { ExportHeader } from "./format.ts";
import { JsonScanner } from "./json-scanner.ts";
import { type ExportItem, ExportTokenWalker } from "./token-walker.ts";

export type { ExportItem, InvalidRow, ValidRow } from "./token-walker.ts";

export interface ReadOptions {
  /**
   * "throw" (default): the first invalid row throws InvalidDumpError; "collect": yield it as
   * `invalid`; "trust": skip row validation (for a second pass over a file already validated and
   * unchanged since; structure is still checked).
   */
  invalidRows?: "throw" | "collect" | "trust";
  /** called after each block with bytes read so far and the file size */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /** name used for the file in messages (defaults to the path as given) */
  displayName?: string;
}

export interface ReadSummary {
  file: string;
  bytes: number;
  header: ExportHeader;
  /** rows seen per table (valid and invalid) */
  rows: Record<string, number>;
}

const BLOCK = 64 * 1024;

/**
 * Reads an export. Iterate `rows()` to the end; `summary` is set once it finishes. Structural
 * problems (not JSON, truncated, wrong formatName, databaseName or table) always throw.
 */
export class DexieExportReader {
  summary?: ReadSummary;

  constructor(
    readonly file: string,
    private readonly options: ReadOptions = {},
  ) {}

  async *rows(): AsyncGenerator<ExportItem> {
    const name = this.options.displayName ?? this.file;
    const totalBytes = await fileSize(this.file, name);
    const walker = new ExportTokenWalker(name, this.options.invalidRows ?? "throw");
    const scanner = new JsonScanner(walker);
    const decoder = new TextDecoder("utf-8", { fatal: true });
    const stream = createReadStream(this.file, { highWaterMark: BLOCK });
    let bytes = 0;
    try {
      for await (const block of stream as AsyncIterable<Buffer>) {
        let text: string;
        try {
          text = decoder.decode(block, { stream: true });
        } catch {
          throw new InvalidDumpError(name, `byte ${bytes}`, "not UTF-8 text; expected a dexie-export-import JSON export");
        }
        try {
          scanner.feed(text);
        } catch (err) {
          if (err instanceof InvalidInputError) throw err;
          throw await syntaxError(this.file, name, err, walker.where());
        }
        bytes += block.length;
        const items = walker.take();
        for (const item of items) yield item;
        this.options.onProgress?.(bytes, totalBytes);
      }
      // the scanner holds back a number or word at the very end (`42`, `null`) until the input
      // ends: flush it, so that such a file is reported as what it holds rather than as empty
      try {
        scanner.end();
      } catch (err) {
        if (err instanceof InvalidInputError) throw err;
        // an empty file, or one cut short: walker.end() says which; anything else is bad JSON
        if (!walker.started && !(await blank(this.file))) throw await syntaxError(this.file, name, err, walker.where());
      }
      for (const item of walker.take()) yield item;
      walker.end(bytes);
    } catch (err) {
      if (err instanceof InvalidInputError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code) throw new InvalidInputError(name, undefined, `cannot read the file (${code})`);
      throw err;
    } finally {
      stream.destroy();
    }
    const header = walker.header();
    if (!header) throw new InvalidDumpError(name, "data.databaseName", 'missing; expected "EventQueueDB" or "CacheDB"');
    this.summary = { file: name, bytes, header, rows: Object.fromEntries(walker.rowsSeen) };
  }
}

/** Whether the file holds nothing but JSON whitespace (read again only when the scanner could not end). */
async function blank(file: string): Promise<boolean> {
  for await (const block of createReadStream(file, { highWaterMark: BLOCK }) as AsyncIterable<Buffer>) {
    for (const b of block) if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) return false;
  }
  return true;
}

async function fileSize(file: string, name: string): Promise<number> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new InvalidInputError(name, undefined, "not a regular file; expected a dexie-export-import JSON export");
    return s.size;
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidInputError(name, undefined, code === "ENOENT" ? "no such file" : `cannot read the file (${code ?? String(err)})`);
  }
}

/** A syntax error: ask stream-json's verifier for the exact line and column. */
async function syntaxError(file: string, name: string, err: unknown, inside: string): Promise<InvalidDumpError> {
  const detail = (err as Error).message.replace(/^Parser (cannot parse input: |has )/, "");
  try {
    await verifyFile(file);
  } catch (v) {
    const e = v as { line?: number; pos?: number; offset?: number };
    if (typeof e.line === "number") {
      return new InvalidDumpError(
        name,
        `line ${e.line}, column ${e.pos ?? 0}${inside === "(root)" ? "" : ` (inside ${inside})`}`,
        `not valid JSON (${detail}); expected a dexie-export-import JSON export`,
      );
    }
  }
  return new InvalidDumpError(name, inside, `not valid JSON (${detail}); expected a dexie-export-import JSON export`);
}
