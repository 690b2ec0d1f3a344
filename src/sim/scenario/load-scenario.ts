/**
 * Reads a scenario file (YAML, or JSON by extension) and validates it once. Every problem is an
 * InvalidInputError of one line, `<file>: <dot.path>: expected …, got …` (YAML syntax errors:
 * `<file>:<line>:<col>: …`), so a person can go straight to the spot.
 */
import { readFile } from "node:fs/promises";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { z } from "zod";
import { InvalidInputError } from "../../errors.ts";
import { checkScenarioFile, scenarioFileSchema, type ScenarioFile, type ScenarioProblem } from "./scenario-schema.ts";

export type { ScenarioFile };

/** Reads and validates one scenario file. */
export async function loadScenario(file: string): Promise<ScenarioFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidInputError(file, undefined, code === "ENOENT" ? "no such file" : `cannot read the file (${code ?? String(err)})`);
  }
  return parseScenarioText(text, file);
}

/** Parses and validates scenario text; `file` names it in errors and picks JSON (`.json`) or YAML. */
export function parseScenarioText(text: string, file: string): ScenarioFile {
  const raw = file.toLowerCase().endsWith(".json") ? parseJson(text, file) : parseYamlText(text, file);
  const parsed = scenarioFileSchema.safeParse(raw);
  if (!parsed.success) throw scenarioError(file, problemOf(parsed.error.issues[0]!, raw));
  const problem = checkScenarioFile(parsed.data);
  if (problem) throw scenarioError(file, problem);
  return parsed.data;
}

/**
 * The one-line error for a problem at a dot-path. docs/sim.md writes the path like a location
 * (`file: a.b: expected …`), so the message is set in that form; `where` keeps the path.
 */
export function scenarioError(file: string, problem: ScenarioProblem): InvalidInputError {
  const where = problem.path.length ? problem.path.join(".") : "(root)";
  const detail = `expected ${problem.expected}, got ${problem.got}`;
  const err = new InvalidInputError(file, where, detail);
  err.message = `${file}: ${where}: ${detail}`;
  return err;
}

function parseYamlText(text: string, file: string): unknown {
  try {
    return parseYaml(text);
  } catch (err) {
    if (!(err instanceof YAMLParseError)) throw err;
    const pos = err.linePos?.[0];
    const reason = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    const where = pos ? `${pos.line}:${pos.col}` : undefined;
    const detail = `expected valid YAML, got ${lowerFirst(reason)}`;
    const error = new InvalidInputError(file, where, detail, { cause: err });
    error.message = `${file}${where ? `:${where}` : ""}: ${detail}`;
    throw error;
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // Node 20 names the token but not always where it is; newer versions add a position
    const message = (err as Error).message;
    const reason = /^(.*?), ".*" is not valid JSON$/s.exec(message)?.[1] ?? message.split("\n")[0]!;
    throw new InvalidInputError(file, undefined, `expected valid JSON, got ${lowerFirst(reason)}`, { cause: err });
  }
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** A zod issue as a problem: its message is the "expected" phrase (scenario-schema.ts sets them). */
function problemOf(zodIssue: z.core.$ZodIssue, raw: unknown): ScenarioProblem {
  const path = zodIssue.path.map((p) => (typeof p === "number" ? p : String(p)));
  if (zodIssue.code === "unrecognized_keys") {
    return { path: [...path, zodIssue.keys[0]!], expected: zodIssue.message, got: "an unknown key" };
  }
  // a message zod wrote itself ("Invalid input: expected number, received string")
  const expected = /^Invalid input: expected (.+?)(?:, received .+)?$/.exec(zodIssue.message)?.[1] ?? lowerFirst(zodIssue.message);
  return { path, expected, got: describeValue(valueAt(raw, path)) };
}

function valueAt(raw: unknown, path: (string | number)[]): unknown {
  let v = raw;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

/** A value as the "got" of a message: short JSON, or what kind of thing it is. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  const json = JSON.stringify(v);
  if (json.length <= 40) return json;
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object" && v !== null) return "a mapping";
  return `${json.slice(0, 37)}…`;
}
