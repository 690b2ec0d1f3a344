/**
 * A synchronous state machine over the scanner's tokens that knows the shape of a dexie export:
 * `{formatName, formatVersion, data: {databaseName, databaseVersion, tables, data: [{tableName,
 * inbound, rows: [...]}]}}`. It checks the header fields as they arrive, takes each row whole
 * from the scanner (one at a time, never the whole file), validates it and queues it for the
 * reader. Unknown keys are skipped. Errors are InvalidDumpError(file, JSON path, expected).
 */
import Assembler from "stream-json/assembler.js";
import { InvalidDumpError } from "../../errors.ts";
import { ownString } from "../own-string.ts";
import { DATABASES, type DatabaseName, type ExportHeader, isDatabaseName, joinPath } from "./format.ts";
import { IdSet } from "./id-set.ts";
import type { ScanSink, ScanToken as Token } from "./json-scanner.ts";

export interface ValidRow {
  type: "row";
  table: "events" | "cache";
  /** index of the row inside its table's `rows` array */
  index: number;
  /** JSON path of the row, e.g. `data.data[0].rows[17]` */
  path: string;
  value: Record<string, unknown>;
}

export interface InvalidRow {
  type: "invalid";
  table: "events" | "cache";
  index: number;
  /** JSON path of the first problem, e.g. `data.data[0].rows[17].payload` */
  path: string;
  /** the row's id (or cache key) when it has a string one */
  id?: string;
  reason: string;
}

export type ExportItem = ValidRow | InvalidRow;

type Role = "root" | "db" | "tableList" | "table" | "rows";
interface Frame {
  role: Role;
  /** JSON path of this container */
  path: string;
  /** pending key inside an object */
  key?: string;
  /** next element index inside an array */
  index: number;
  /** for "table" frames: the declared tableName */
  tableName?: string;
}

const DUMP_HINT = 'expected a dexie-export-import JSON export ({"formatName":"dexie","data":{…}})';

const VALUE_START = new Set(["startObject", "startArray", "stringValue", "numberValue", "nullValue", "trueValue", "falseValue", "value"]);

export class ExportTokenWalker implements ScanSink {
  private stack: Frame[] = [];
  private rootSeen = false;
  private formatName?: string;
  private databaseName?: DatabaseName;
  private databaseVersion?: number;
  private tables?: ExportHeader["tables"];
  private sawData = false;
  /** active sub-consumer: an Assembler building one header value, or a skipper counting depth */
  private capture?: { asm: Assembler; done: (value: unknown) => void };
  private skipDepth = 0;
  private out: ExportItem[] = [];
  /** rows seen per table name */
  readonly rowsSeen = new Map<string, number>();
  /**
   * Per table: each valid row's id (cache key) and where it was, as `entry * 2^32 + index` (entry:
   * the rows array's place in `tablePaths`), to refuse a second row with the same id. A compact
   * set (id-set.ts): memory grows by the ids' bytes, not by a Map entry per row.
   */
  private readonly idsSeen = new Map<string, IdSet>();
  private readonly tablePaths: string[] = [];

  constructor(
    private readonly file: string,
    /** "trust": rows were validated by an earlier pass over the same unchanged file */
    private readonly mode: "throw" | "collect" | "trust",
  ) {}

  /** JSON path of the container being read (for error messages). */
  where(): string {
    const top = this.stack[this.stack.length - 1];
    if (!top) return "(root)";
    return top.key !== undefined ? joinPath(top.path, [top.key]) : top.path || "(root)";
  }

  /** the top-level value has begun */
  get started(): boolean {
    return this.rootSeen;
  }

  header(): ExportHeader | undefined {
    if (!this.databaseName) return undefined;
    return { databaseName: this.databaseName, databaseVersion: this.databaseVersion ?? 0, tables: this.tables ?? [] };
  }

  /** Items produced since the last call. */
  take(): ExportItem[] {
    const items = this.out;
    this.out = [];
    return items;
  }

  /** Rows come whole, and so do containers inside a value being skipped. */
  wantsWhole(): boolean {
    if (this.capture) return false;
    return this.skipDepth > 0 || this.stack[this.stack.length - 1]?.role === "rows";
  }

  /** Called at the end of the file: anything left open means the file was cut short. */
  end(bytes: number): void {
    if (!this.rootSeen) throw this.fail(`byte ${bytes}`, `the file is empty; ${DUMP_HINT}`);
    if (this.stack.length > 0 || this.capture || this.skipDepth > 0) {
      throw this.fail(`byte ${bytes}`, `the file ends early inside ${this.where()} (truncated?); ${DUMP_HINT}`);
    }
  }

  private fail(where: string | undefined, expected: string): InvalidDumpError {
    return new InvalidDumpError(this.file, where, expected);
  }

  token(tok: Token): void {
    if (this.capture) {
      this.capture.asm.consume(tok as Exclude<Token, { name: "value" }>);
      if (this.capture.asm.done) {
        const { asm, done } = this.capture;
        this.capture = undefined;
        done(asm.current);
      }
      return;
    }
    if (this.skipDepth > 0) {
      if (tok.name === "startObject" || tok.name === "startArray") this.skipDepth++;
      else if (tok.name === "endObject" || tok.name === "endArray") this.skipDepth--;
      return;
    }
    const top = this.stack[this.stack.length - 1];
    if (!top) return this.rootToken(tok);
    if (top.role === "tableList" || top.role === "rows") return this.arrayToken(top, tok);
    // inside an object
    if (tok.name === "keyValue") {
      top.key = tok.value;
      return;
    }
    if (tok.name === "endObject") return this.closeObject(top);
    if (!VALUE_START.has(tok.name)) return;
    const key = top.key;
    top.key = undefined;
    this.objectValue(top, key ?? "", tok);
  }

  private rootToken(tok: Token): void {
    if (!VALUE_START.has(tok.name)) return;
    if (this.rootSeen) throw this.fail("(root)", `unexpected data after the end of the export; ${DUMP_HINT}`);
    this.rootSeen = true;
    if (tok.name !== "startObject") {
      throw this.fail("(root)", `expected a dexie-export-import export object ({"formatName":"dexie","data":{…}}), found ${found(tok)}`);
    }
    this.stack.push({ role: "root", path: "", index: 0 });
  }

  private objectValue(frame: Frame, key: string, tok: Token): void {
    const path = joinPath(frame.path, [key]);
    const handlers: Partial<Record<Role, Record<string, () => void>>> = {
      root: {
        formatName: () => {
          const v = scalar(tok);
          if (v !== "dexie") {
            throw this.fail(path, `expected formatName "dexie" (a dexie-export-import export), got ${show(v, tok)}`);
          }
          this.formatName = v;
        },
        formatVersion: () => {
          const v = scalar(tok);
          if (v !== 1) throw this.fail(path, `expected formatVersion 1, got ${show(v, tok)}`);
        },
        data: () => this.open(tok, { role: "db", path, index: 0 }, "an object {databaseName, databaseVersion, tables, data}"),
      },
      db: {
        databaseName: () => {
          const v = scalar(tok);
          if (typeof v !== "string" || !isDatabaseName(v)) {
            throw this.fail(path, `expected databaseName "EventQueueDB" (or "CacheDB" for the cache), got ${show(v, tok)}`);
          }
          this.databaseName = v;
          if (this.tables) this.checkTables(this.tables, joinPath(frame.path, ["tables"]));
        },
        databaseVersion: () => {
          const v = scalar(tok);
          if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
            throw this.fail(path, `expected databaseVersion to be a non-negative integer, got ${show(v, tok)}`);
          }
          this.databaseVersion = v;
        },
        tables: () => this.assemble(tok, (value) => this.checkTables(value, path)),
        data: () => {
          this.sawData = true;
          this.open(tok, { role: "tableList", path, index: 0 }, "an array of tables [{tableName, inbound, rows}]", "startArray");
        },
      },
      table: {
        tableName: () => {
          const v = scalar(tok);
          if (typeof v !== "string") throw this.fail(path, `expected tableName to be a string, got ${show(v, tok)}`);
          this.checkTableName(v, path);
          frame.tableName = v;
        },
        inbound: () => {
          const v = scalar(tok);
          if (v !== true) throw this.fail(path, `expected inbound: true (rows keyed by their own id), got ${show(v, tok)}`);
        },
        rows: () => {
          if (frame.tableName === undefined) {
            throw this.fail(path, "expected tableName before rows in a table export");
          }
          this.open(tok, { role: "rows", path, index: 0, tableName: frame.tableName }, "an array of rows", "startArray");
        },
      },
    };
    const known = handlers[frame.role];
    // own keys only: a key such as "toString" must not find Object.prototype's
    const handler = known && Object.hasOwn(known, key) ? known[key] : undefined;
    if (handler) return handler();
    // unknown key: skip its value
    if (tok.name === "startObject" || tok.name === "startArray") this.skipDepth = 1;
  }

  private arrayToken(frame: Frame, tok: Token): void {
    if (tok.name === "endArray") {
      this.stack.pop();
      return;
    }
    if (!VALUE_START.has(tok.name)) return;
    const index = frame.index++;
    const path = `${frame.path}[${index}]`;
    if (frame.role === "tableList") {
      this.open(tok, { role: "table", path, index: 0 }, "a table export {tableName, inbound, rows}");
      return;
    }
    const tableName = frame.tableName as "events" | "cache";
    this.rowsSeen.set(tableName, (this.rowsSeen.get(tableName) ?? 0) + 1);
    this.row(tableName, index, path, tok.name === "value" ? tok.value : scalar(tok));
  }

  private row(table: "events" | "cache", index: number, path: string, value: unknown): void {
    const spec = DATABASES[this.databaseName ?? (table === "cache" ? "CacheDB" : "EventQueueDB")];
    const r = this.mode === "trust" && value && typeof value === "object" ? ({ ok: true } as const) : spec.validate(value);
    const rec = value as Record<string, unknown> | null;
    const idKey = table === "cache" ? "key" : "id";
    const idValue = rec && typeof rec === "object" ? rec[idKey] : undefined;
    if (r.ok) {
      // a trusted pass follows a validating one over the same file, which refused any repeat
      const repeat = this.mode === "trust" ? undefined : this.repeatOf(table, idValue as string, path, index);
      if (repeat === undefined) {
        this.out.push({ type: "row", table, index, path, value: value as Record<string, unknown> });
        return;
      }
      const what = table === "cache" ? "cache key" : "id";
      const where = joinPath(path, [idKey]);
      const reason = `duplicate ${what} ${JSON.stringify(idValue)}: ${repeat} has the same ${what}`;
      if (this.mode === "throw") throw this.fail(where, `${reason}; expected each row of a file to have its own ${what}`);
      this.out.push({ type: "invalid", table, index, path: where, reason: `${reason} (the first is kept)`, id: ownString(idValue as string) });
      return;
    }
    const where = joinPath(path, r.path);
    if (this.mode === "throw") throw this.fail(where, r.hint === false ? r.reason : `${r.reason}; ${spec.shapeHint}`);
    this.out.push({ type: "invalid", table, index, path: where, reason: r.reason, ...(typeof idValue === "string" ? { id: ownString(idValue) } : {}) });
  }

  /** Where an earlier row of the table had this id (its JSON path), or undefined, recording it then. */
  private repeatOf(table: string, id: string, path: string, index: number): string | undefined {
    let seen = this.idsSeen.get(table);
    if (!seen) this.idsSeen.set(table, (seen = new IdSet()));
    const rowsPath = path.slice(0, path.length - `[${index}]`.length);
    const entry = this.tablePaths[this.tablePaths.length - 1] === rowsPath ? this.tablePaths.length - 1 : this.tablePaths.length;
    const at = seen.getOrAdd(id, entry * 2 ** 32 + index);
    if (at !== undefined) return `${this.tablePaths[Math.floor(at / 2 ** 32)]}[${at % 2 ** 32}]`;
    if (entry === this.tablePaths.length) this.tablePaths.push(rowsPath);
    return undefined;
  }

  private open(tok: Token, frame: Frame, what: string, start: "startObject" | "startArray" = "startObject"): void {
    if (tok.name !== start) throw this.fail(frame.path, `expected ${what}, got a JSON ${describeToken(tok)}`);
    this.stack.push(frame);
  }

  private assemble(tok: Token, done: (value: unknown) => void): void {
    if (tok.name !== "startObject" && tok.name !== "startArray") return done(scalar(tok));
    const asm = new Assembler();
    asm.consume(tok);
    this.capture = { asm, done };
  }

  private closeObject(frame: Frame): void {
    this.stack.pop();
    if (frame.role === "root") {
      if (this.formatName === undefined) throw this.fail("formatName", `missing; ${DUMP_HINT}`);
      if (!this.sawData) throw this.fail("data", "missing; expected an object {databaseName, databaseVersion, tables, data}");
    } else if (frame.role === "db") {
      if (!this.databaseName) throw this.fail(joinPath(frame.path, ["databaseName"]), 'missing; expected "EventQueueDB" or "CacheDB"');
      if (!this.sawData) throw this.fail(joinPath(frame.path, ["data"]), "missing; expected an array of tables [{tableName, inbound, rows}]");
    } else if (frame.role === "table" && frame.tableName === undefined) {
      throw this.fail(joinPath(frame.path, ["tableName"]), "missing; expected the table's name");
    }
  }

  private checkTableName(name: string, path: string): void {
    const expected = this.databaseName ? DATABASES[this.databaseName].table : undefined;
    const allowed = expected ? [expected] : ["events", "cache"];
    if (!allowed.includes(name as "events")) {
      throw this.fail(
        path,
        `expected table ${allowed.map((t) => `"${t}"`).join(" or ")}${this.databaseName ? ` in ${this.databaseName}` : ""}, got "${name}"`,
      );
    }
  }

  private checkTables(value: unknown, path: string): void {
    if (!Array.isArray(value)) throw this.fail(path, "expected an array of tables [{name, schema, rowCount}]");
    const tables: ExportHeader["tables"] = [];
    value.forEach((t: unknown, i) => {
      const p = `${path}[${i}]`;
      const rec = t as { name?: unknown; schema?: unknown; rowCount?: unknown } | null;
      if (!rec || typeof rec !== "object" || typeof rec.name !== "string" || typeof rec.schema !== "string") {
        throw this.fail(p, "expected a table {name, schema, rowCount}");
      }
      if (this.databaseName) this.checkTableName(rec.name, `${p}.name`);
      const rowCount = typeof rec.rowCount === "number" ? rec.rowCount : 0;
      tables.push({ name: rec.name, schema: rec.schema, rowCount });
    });
    this.tables = tables;
  }
}

function scalar(tok: Token): unknown {
  switch (tok.name) {
    case "stringValue":
      return tok.value;
    case "numberValue":
      return Number(tok.value);
    case "nullValue":
      return null;
    case "trueValue":
      return true;
    case "falseValue":
      return false;
    default:
      return undefined;
  }
}

function describeToken(tok: Token): string {
  switch (tok.name) {
    case "value":
      return Array.isArray(tok.value) ? "array" : "object";
    case "startObject":
      return "object";
    case "startArray":
      return "array";
    case "stringValue":
      return "string";
    case "numberValue":
      return "number";
    case "nullValue":
      return "null";
    default:
      return "boolean";
  }
}

/** What a top-level value that is not an object is: `null`, `42`, `"x"`, `an array`. */
function found(tok: Token): string {
  if (tok.name === "startArray") return "an array";
  const text = JSON.stringify(scalar(tok)) ?? describeToken(tok);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function show(v: unknown, tok: Token): string {
  return v === undefined ? `a JSON ${describeToken(tok)}` : JSON.stringify(v);
}
