/** The checker's verdict for people: one line per invariant, the first examples of a violation under it. */
import type { Verdict } from "../../sim/checker/verdict.ts";

export function renderVerdict(v: Verdict, indent = ""): string {
  const width = Math.max(...v.invariants.map((i) => i.name.length));
  const lines = [`${indent}invariants:`];
  for (const inv of v.invariants) {
    const mark = inv.violations === 0 ? "ok  " : "FAIL";
    lines.push(`${indent}  ${mark} ${inv.name.padEnd(width)}  ${inv.violations} violation${inv.violations === 1 ? "" : "s"} in ${inv.checked} checked`);
    for (const ex of inv.examples) lines.push(`${indent}         - ${ex.message}`);
  }
  return lines.join("\n");
}
