/**
 * What the values inside an event may be, beyond the schema's shape: objects and arrays nest at
 * most MAX_NESTING_DEPTH levels (deeper values overflow the stack of the recursive code that
 * copies and serialises them: structured clone, JSON.stringify), and strings (keys included)
 * hold no NUL character and no unpaired UTF-16 surrogate, which PostgreSQL refuses in text and
 * jsonb (SQLSTATE 22P05, 22P02), so such an event could never be applied. A quick check, whose
 * recursion stops at QUICK_DEPTH levels, passes ordinary values; the rest get an iterative walk
 * that stops descending at the limit, so checking a hostile value cannot overflow the stack.
 */

/** Most levels of objects and arrays inside an event (the event object itself not counted). */
export const MAX_NESTING_DEPTH = 1000;

/**
 * Largest event payload, in UTF-8 bytes of its JSON text: the server's own default
 * (`max_payload_bytes` in the settings table), so an event refused here would be rejected there.
 */
export const MAX_PAYLOAD_BYTES = 1_048_576;

/** At most this many keys of a path are named in a message (a string deep inside a deep value). */
const MAX_PATH_SHOWN = 32;

export interface ValueProblem {
  /** keys from the checked value down to the problem (at most MAX_PATH_SHOWN) */
  path: (string | number)[];
  reason: string;
}

export interface ValueCheckOptions {
  /** default MAX_NESTING_DEPTH */
  maxDepth?: number;
  /** check strings and keys for what PostgreSQL cannot store (default true) */
  strings?: boolean;
}

interface Frame {
  value: object;
  depth: number;
  parent: Frame | undefined;
  key: string | number | undefined;
}

/** Cheap pre-test: only strings holding one of these characters need a closer look. */
const SUSPECT = /[\u0000\uD800-\uDFFF]/;

/** Whether the string holds a NUL or any surrogate (a loop beats the regexp on short strings). */
function suspect(s: string): boolean {
  if (s.length > 24) return SUSPECT.test(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

/** Why PostgreSQL cannot store the string, or null. */
export function stringProblem(s: string): string | null {
  if (!suspect(s)) return null;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return `contains a NUL character (\\u0000 at character ${i}), which PostgreSQL cannot store`;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      return `contains an unpaired UTF-16 surrogate (\\u${c.toString(16)} at character ${i}), which is not valid Unicode and PostgreSQL refuses`;
    }
  }
  return null;
}

function pathOf(frame: Frame | undefined, last?: string | number): (string | number)[] {
  const keys: (string | number)[] = last === undefined ? [] : [last];
  for (let f = frame; f && f.key !== undefined; f = f.parent) keys.push(f.key);
  keys.reverse();
  return keys.length > MAX_PATH_SHOWN ? keys.slice(0, MAX_PATH_SHOWN) : keys;
}

/** Levels the quick check descends (by recursion, so bounded) before leaving a value to the full walk. */
const QUICK_DEPTH = 64;

/**
 * True when the value is certainly fine: no suspect string and nothing deeper than QUICK_DEPTH.
 * False sends it to the full walk, which finds the problem and its path (or none). Every event
 * goes through this on its way to the server, so it allocates nothing.
 */
function quickClean(v: unknown, depth: number, strings: boolean): boolean {
  if (typeof v === "string") return !strings || !suspect(v);
  if (v === null || typeof v !== "object") return true;
  if (depth >= QUICK_DEPTH) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!quickClean(v[i], depth + 1, strings)) return false;
    return true;
  }
  for (const key in v) {
    if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
    if (strings && suspect(key)) return false;
    if (!quickClean((v as Record<string, unknown>)[key], depth + 1, strings)) return false;
  }
  return true;
}

/**
 * The first problem found in a JSON-like value, or null. A value nested too deep is reported at
 * the key of the checked value under which it is (e.g. `payload`), not at its full path.
 */
export function valueProblem(root: unknown, options: ValueCheckOptions = {}): ValueProblem | null {
  const maxDepth = options.maxDepth ?? MAX_NESTING_DEPTH;
  const strings = options.strings ?? true;
  if (maxDepth >= QUICK_DEPTH && quickClean(root, 0, strings)) return null;
  if (typeof root === "string") {
    const r = strings ? stringProblem(root) : null;
    return r ? { path: [], reason: r } : null;
  }
  if (root === null || typeof root !== "object") return null;
  const stack: Frame[] = [{ value: root, depth: 0, parent: undefined, key: undefined }];
  const tooDeep = (frame: Frame, key: string | number): ValueProblem => {
    const top = pathOf(frame, key)[0];
    return {
      path: top === undefined ? [] : [top],
      reason: `objects and arrays nest more than ${maxDepth} levels deep here; an event may nest at most ${maxDepth}`,
    };
  };
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const value = frame.value;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const v: unknown = value[i];
        if (typeof v === "string") {
          const r = strings ? stringProblem(v) : null;
          if (r) return { path: pathOf(frame, i), reason: r };
        } else if (v !== null && typeof v === "object") {
          if (frame.depth + 1 > maxDepth) return tooDeep(frame, i);
          stack.push({ value: v, depth: frame.depth + 1, parent: frame, key: i });
        }
      }
      continue;
    }
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (strings) {
        const k = stringProblem(key);
        if (k) return { path: pathOf(frame, key), reason: `the key ${k}` };
      }
      const v = obj[key];
      if (typeof v === "string") {
        const r = strings ? stringProblem(v) : null;
        if (r) return { path: pathOf(frame, key), reason: r };
      } else if (v !== null && typeof v === "object") {
        if (frame.depth + 1 > maxDepth) return tooDeep(frame, key);
        stack.push({ value: v, depth: frame.depth + 1, parent: frame, key });
      }
    }
  }
  return null;
}

/** Formats a path as `payload.items[3]["a b"]` after `prefix`. */
export function valuePath(keys: readonly (string | number)[], prefix = ""): string {
  let out = prefix;
  for (const k of keys) {
    if (typeof k === "number") out += `[${k}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(k)) out += out ? `.${k}` : k;
    else out += `[${JSON.stringify(k)}]`;
  }
  return out;
}

/** `path: reason` for one-line messages (`(root)` for the value itself). */
export function describeValueProblem(p: ValueProblem, prefix = ""): string {
  return `${valuePath(p.path, prefix) || "(root)"}: ${p.reason}`;
}

/**
 * Why an event's payload is too large to send (its JSON text over `maxBytes` UTF-8 bytes), or null.
 * Most payloads are decided by an upper bound on their JSON size, walked without building the
 * text; only one whose bound passes the limit is serialised and its bytes counted.
 */
export function payloadSizeProblem(payload: unknown, maxBytes = MAX_PAYLOAD_BYTES): string | null {
  const bytes = payloadBytesOver(payload, maxBytes);
  if (bytes <= maxBytes) return null;
  return `${bytes} bytes of JSON, more than the limit of ${maxBytes} bytes for one event's payload`;
}

/**
 * The UTF-8 bytes of the payload's JSON text when they may be over `floor`, or 0 when they cannot
 * be (decided by the bound, without serialising).
 */
export function payloadBytesOver(payload: unknown, floor: number): number {
  if (payload === undefined) return 0;
  if (jsonSizeBound(payload, 0, floor) <= floor) return 0;
  const text = JSON.stringify(payload) ?? "";
  if (text.length * 3 <= floor) return 0;
  return utf8Length(text);
}

/** UTF-8 bytes of a string (a surrogate pair is 4, an unpaired surrogate is written as 3). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * An upper bound on the UTF-8 bytes of `v`'s JSON text (a UTF-16 unit is at most 6 bytes, as a
 * `\uXXXX` escape; a number at most 24 characters), or Infinity once past `budget` or deeper
 * than QUICK_DEPTH (the caller then measures the real text).
 */
function jsonSizeBound(v: unknown, depth: number, budget: number): number {
  if (typeof v === "string") return 2 + 6 * v.length;
  if (v === null || typeof v !== "object") return 24;
  if (depth >= QUICK_DEPTH) return Infinity;
  let n = 2;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length && n <= budget; i++) n += 1 + jsonSizeBound(v[i], depth + 1, budget - n);
    return n;
  }
  for (const key in v) {
    if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
    n += 4 + 6 * key.length + jsonSizeBound((v as Record<string, unknown>)[key], depth + 1, budget - n);
    if (n > budget) return n;
  }
  return n;
}
