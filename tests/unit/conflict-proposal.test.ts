import { describe, expect, it } from "vitest";
import { checkGivenMerge, proposeMerge, type ProposalInput } from "../../src/core/conflict-proposal.ts";
import type { WireEvent } from "../../src/core/ports.ts";

const ev = (entity: string, type: WireEvent["type"], payload: Record<string, unknown>): WireEvent => ({
  id: "b1",
  type,
  entity,
  entityId: "r1",
  payload,
  timestamp: 1,
  baseVersion: 1,
});
const well = { name: "A-7", status: "completed", depth_m: 1200 };
const entries = [
  { id: "e1", label: "Oil", color: "green" },
  { id: "e2", label: "Gas", color: "blue" },
];

function proposal(input: ProposalInput) {
  const p = proposeMerge(input);
  if (!("proposal" in p)) throw new Error(`no proposal: ${p.none}`);
  return p.proposal;
}

describe("proposeMerge on documents", () => {
  it("an update's merge is the whole document, not the update's delta", () => {
    const p = proposal({ event: ev("well", "update", { depth_m: 1350 }), current: { version: 2, data: well } });
    expect(p).toMatchObject({ version: 2, write: { ...well, depth_m: 1350 }, row: { ...well, depth_m: 1350 } });
  });

  it("with the base known, a field the edit left as it was keeps the server's value", () => {
    const base = { name: "A-7", status: "drilling", depth_m: 1000 };
    const p = proposal({ event: ev("well", "update", { status: "drilling", depth_m: 1350 }), current: { version: 2, data: well }, base });
    expect(p.write).toEqual({ name: "A-7", status: "completed", depth_m: 1350 });
    expect(p.conflicts).toEqual(["depth_m"]);
  });

  it("a removal proposes the row removed", () => {
    expect(proposal({ event: ev("well", "remove", {}), current: { version: 2, data: well } })).toMatchObject({ write: null, row: null });
  });

  it("an update of a row the server removed has nothing to merge", () => {
    expect(proposeMerge({ event: ev("well", "update", { depth_m: 1 }), current: null })).toEqual({ none: expect.stringContaining("removed remotely") });
  });
});

describe("proposeMerge on chart entries", () => {
  it("merges the one entry field-wise and shows the whole list after", () => {
    const p = proposal({ event: ev("chart_data_source", "update", { id: "e1", label: "Crude" }), current: { version: 3, data: entries } });
    expect(p.write).toEqual({ id: "e1", label: "Crude", color: "green" });
    expect(p.row).toEqual([{ id: "e1", label: "Crude", color: "green" }, entries[1]]);
  });

  it("a deselection removes only that entry", () => {
    const p = proposal({ event: ev("chart_data_source", "remove", { id: "e2" }), current: { version: 3, data: entries } });
    expect(p).toMatchObject({ write: null, row: [entries[0]] });
  });

  it("a new entry is appended", () => {
    const p = proposal({ event: ev("chart_data_source", "add", { id: "e3", label: "Water" }), current: { version: 3, data: entries } });
    expect(p.row).toEqual([...entries, { id: "e3", label: "Water" }]);
  });
});

describe("checkGivenMerge", () => {
  const input: ProposalInput = { event: ev("well", "update", { depth_m: 1350 }), current: { version: 2, data: well } };
  it("refuses a partial document, naming what it lacks", () => {
    expect(checkGivenMerge(input, { depth_m: 1350 })).toMatch(/lacks fields the stored row has \(name, status\)/);
  });
  it("accepts the whole document, extra fields, and null", () => {
    expect(checkGivenMerge(input, { ...well, depth_m: 1 })).toBeUndefined();
    expect(checkGivenMerge(input, { ...well, note: "x" })).toBeUndefined();
    expect(checkGivenMerge(input, null)).toBeUndefined();
  });
  it("refuses a non-object and a chart entry with another id", () => {
    expect(checkGivenMerge(input, [1])).toMatch(/expected a JSON object/);
    const chart: ProposalInput = { event: ev("chart_data_source", "update", { id: "e1" }), current: { version: 3, data: entries } };
    expect(checkGivenMerge(chart, { id: "e2", label: "x", color: "y" })).toMatch(/entry with "id": "e1"/);
    expect(checkGivenMerge(chart, { id: "e1", label: "x" })).toMatch(/lacks fields the stored entry has \(color\)/);
  });
});
