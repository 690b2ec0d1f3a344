/**
 * A push JSON scanner for export files: fed text block by block, it hands its sink the tokens of
 * the export's envelope (objects, arrays, keys, scalars, in stream-json's token shape) and, for a
 * container the sink asks for whole (a row), one `value` token with the container parsed by
 * JSON.parse. Finding where a row ends only needs depth and string bounds, which is far cheaper
 * than tokenizing every character of it; JSON.parse then checks the row's syntax natively.
 * The envelope's grammar is checked here; a syntax error throws JsonSyntaxError with the character
 * offset (the reader asks stream-json's verifier for the line and column).
 */
import type { Token } from "stream-json/parser.js";

/** A whole container, parsed. */
export interface WholeValueToken {
  name: "value";
  value: unknown;
}

export type ScanToken = Token | WholeValueToken;

export interface ScanSink {
  token(tok: ScanToken): void;
  /** Called as a container begins: true to receive it as one parsed `value` token instead of its tokens. */
  wantsWhole(): boolean;
}

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    /** characters read before the error */
    readonly offset: number,
  ) {
    super(message);
    this.name = "JsonSyntaxError";
  }
}

/** What the grammar expects next. */
const enum Expect {
  Value,
  ValueOrEnd,
  KeyOrEnd,
  Key,
  Colon,
  CommaOrEnd,
  Nothing,
}

/** A token that the end of a block cut: it continues in the next one. */
const enum Pending {
  None,
  Key,
  String,
  Number,
  Literal,
  Whole,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
}

function isLetter(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}

export class JsonScanner {
  private expect = Expect.Value;
  /** open containers, innermost last: true for an object */
  private readonly objects: boolean[] = [];
  private pending = Pending.None;
  /** text of the pending token from earlier blocks */
  private pieces: string[] = [];
  /** inside a pending string: the next character is escaped */
  private escaped = false;
  /** inside a pending whole container: nesting depth, and whether inside one of its strings */
  private depth = 0;
  private inString = false;
  /** characters of earlier blocks */
  private base = 0;

  constructor(private readonly sink: ScanSink) {}

  feed(text: string): void {
    const n = text.length;
    let i = 0;
    if (this.pending !== Pending.None) {
      i = this.resume(text, 0);
      if (i < 0) {
        this.base += n;
        return;
      }
    }
    while (i < n) {
      const c = text.charCodeAt(i);
      if (isSpace(c)) {
        i++;
        continue;
      }
      i = this.step(text, i, c);
      if (i < 0) break;
    }
    this.base += n;
  }

  /** The input has ended: a number or literal at the end completes; anything else open is an error. */
  end(): void {
    if (this.pending === Pending.Number || this.pending === Pending.Literal) {
      const text = this.pieces.join("");
      this.pieces = [];
      const kind = this.pending;
      this.pending = Pending.None;
      this.scalar(kind, text, this.base);
    }
    if (this.pending !== Pending.None || this.objects.length > 0 || this.expect !== Expect.Nothing) {
      throw new JsonSyntaxError(this.expect === Expect.Value && this.objects.length === 0 ? "no JSON value" : "the input ends early", this.base);
    }
  }

  /** One token beginning at `i` (character `c`, not whitespace). Returns where to go on, or -1 at the end of the block. */
  private step(text: string, i: number, c: number): number {
    switch (this.expect) {
      case Expect.KeyOrEnd:
      case Expect.Key:
        if (c === 0x7d && this.expect === Expect.KeyOrEnd) return this.close(true, i);
        if (c !== QUOTE) throw this.error(`expected ${this.expect === Expect.KeyOrEnd ? "a key or '}'" : "a key"}`, i);
        return this.string(text, i, Pending.Key);
      case Expect.Colon:
        if (c !== 0x3a) throw this.error("expected ':' after a key", i);
        this.expect = Expect.Value;
        return i + 1;
      case Expect.CommaOrEnd: {
        const object = this.objects[this.objects.length - 1]!;
        if (c === 0x2c) {
          this.expect = object ? Expect.Key : Expect.Value;
          return i + 1;
        }
        if (c === (object ? 0x7d : 0x5d)) return this.close(object, i);
        throw this.error(`expected ',' or '${object ? "}" : "]"}'`, i);
      }
      case Expect.Nothing:
        throw this.error("unexpected data after the end of the JSON value", i);
      case Expect.ValueOrEnd:
        if (c === 0x5d) return this.close(false, i);
        return this.value(text, i, c);
      default:
        return this.value(text, i, c);
    }
  }

  private value(text: string, i: number, c: number): number {
    if (c === 0x7b || c === 0x5b) {
      if (this.sink.wantsWhole()) {
        this.pending = Pending.Whole;
        this.depth = 0;
        this.inString = false;
        this.pieces = [];
        return this.whole(text, i, i);
      }
      const object = c === 0x7b;
      this.objects.push(object);
      this.sink.token({ name: object ? "startObject" : "startArray" } as Token);
      this.expect = object ? Expect.KeyOrEnd : Expect.ValueOrEnd;
      return i + 1;
    }
    if (c === QUOTE) return this.string(text, i, Pending.String);
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.run(text, i, i, Pending.Number);
    if (isLetter(c)) return this.run(text, i, i, Pending.Literal);
    throw this.error("expected a JSON value", i);
  }

  private close(object: boolean, i: number): number {
    this.objects.pop();
    this.sink.token({ name: object ? "endObject" : "endArray" } as Token);
    this.afterValue();
    return i + 1;
  }

  private afterValue(): void {
    this.expect = this.objects.length === 0 ? Expect.Nothing : Expect.CommaOrEnd;
  }

  /** Continues the pending token at the start of a new block: where to go on, or -1 if it goes on past this block too. */
  private resume(text: string, i: number): number {
    switch (this.pending) {
      case Pending.Key:
      case Pending.String:
        return this.stringFrom(text, i, i, this.pending);
      case Pending.Number:
      case Pending.Literal:
        return this.run(text, i, i, this.pending);
      default:
        return this.whole(text, i, i);
    }
  }

  private string(text: string, i: number, kind: Pending.Key | Pending.String): number {
    this.escaped = false;
    this.pieces = [];
    return this.stringFrom(text, i, i + 1, kind);
  }

  /** Scans a string from `from` (its text in this block starts at `start`). */
  private stringFrom(text: string, start: number, from: number, kind: Pending.Key | Pending.String): number {
    const end = this.closingQuote(text, from);
    if (end < 0) {
      this.pieces.push(text.slice(start));
      this.pending = kind;
      return -1;
    }
    const raw = this.finish(text, start, end + 1);
    let value: string;
    try {
      value = JSON.parse(raw) as string;
    } catch (err) {
      throw this.error(`bad string (${(err as Error).message})`, start);
    }
    if (kind === Pending.Key) {
      this.sink.token({ name: "keyValue", value } as Token);
      this.expect = Expect.Colon;
    } else {
      this.sink.token({ name: "stringValue", value } as Token);
      this.afterValue();
    }
    return end + 1;
  }

  /**
   * Index of the quote that ends the string being read, searching from `from`, or -1 when the
   * block ends first (`escaped` then says whether the next block's first character is escaped).
   */
  private closingQuote(text: string, from: number): number {
    let k = from;
    if (this.escaped) {
      if (k >= text.length) return -1;
      this.escaped = false;
      k++;
    }
    for (;;) {
      const q = text.indexOf('"', k);
      const stop = q < 0 ? text.length : q;
      let slashes = 0;
      for (let t = stop - 1; t >= k && text.charCodeAt(t) === BACKSLASH; t--) slashes++;
      if (q < 0) {
        this.escaped = slashes % 2 === 1;
        return -1;
      }
      if (slashes % 2 === 0) return q;
      k = q + 1;
    }
  }

  /** A number or a literal (true, false, null): a run of its characters. */
  private run(text: string, start: number, from: number, kind: Pending.Number | Pending.Literal): number {
    const accept = kind === Pending.Number ? isNumberChar : isLetter;
    let k = from;
    while (k < text.length && accept(text.charCodeAt(k))) k++;
    if (k === text.length) {
      this.pieces.push(text.slice(start));
      this.pending = kind;
      return -1;
    }
    const raw = this.finish(text, start, k);
    this.scalar(kind, raw, this.base + start);
    return k;
  }

  private scalar(kind: Pending.Number | Pending.Literal, raw: string, at: number): void {
    if (kind === Pending.Number) {
      if (!NUMBER.test(raw)) throw new JsonSyntaxError(`bad number ${JSON.stringify(raw.slice(0, 40))}`, at);
      this.sink.token({ name: "numberValue", value: raw } as Token);
    } else if (raw === "true") this.sink.token({ name: "trueValue", value: true } as Token);
    else if (raw === "false") this.sink.token({ name: "falseValue", value: false } as Token);
    else if (raw === "null") this.sink.token({ name: "nullValue", value: null } as Token);
    else throw new JsonSyntaxError(`unexpected word ${JSON.stringify(raw.slice(0, 40))}`, at);
    this.afterValue();
  }

  /** A container handed over whole: finds its end by depth and string bounds, then parses it. */
  private whole(text: string, start: number, from: number): number {
    const n = text.length;
    let k = from;
    let depth = this.depth;
    while (k < n) {
      if (this.inString) {
        const q = this.closingQuote(text, k);
        if (q < 0) {
          k = n;
          break;
        }
        this.inString = false;
        k = q + 1;
        continue;
      }
      const c = text.charCodeAt(k++);
      if (c === QUOTE) {
        this.inString = true;
        this.escaped = false;
      } else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (--depth === 0) {
          const raw = this.finish(text, start, k);
          let value: unknown;
          try {
            value = JSON.parse(raw);
          } catch (err) {
            throw this.error(`bad value (${(err as Error).message})`, start);
          }
          this.sink.token({ name: "value", value });
          this.afterValue();
          return k;
        }
      }
    }
    this.depth = depth;
    this.pieces.push(text.slice(start));
    return -1;
  }

  /** The pending token's whole text: what earlier blocks held, then `text` from `start` to `end`; nothing is pending after. */
  private finish(text: string, start: number, end: number): string {
    const tail = text.slice(start, end);
    const raw = this.pieces.length ? this.pieces.join("") + tail : tail;
    this.pieces = [];
    this.pending = Pending.None;
    return raw;
  }

  private error(message: string, i: number): JsonSyntaxError {
    return new JsonSyntaxError(message, this.base + i);
  }
}
