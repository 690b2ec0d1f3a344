/**
 * The simulation checker on hand-built histories: a clean run passes every invariant, and for each
 * invariant a history that breaks it is caught by that invariant alone. Also the NDJSON history
 * reader's one-line errors for a bad line, a wrong field, a missing header and a missing end.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/errors.ts";
import { checkHistory, createChecker } from "../../src/sim/checker/create-checker.ts";
import { INVARIANT_NAMES, type InvariantName, type Verdict } from "../../src/sim/checker/verdict.ts";
import type { Effect, HistoryRecord, RowValue, SettleRecord } from "../../src/sim/history/history-records.ts";
import { readHistory } from "../../src/sim/history/read-history.ts";

const WELL = "well:well-1";
const CHART = "chart_data_source:chart_data_source-1";

/** Builds a history: writes get `<client>-<seq>` ids; `finish` adds the final views, rows, ledger and end. */
class History {
  readonly records: HistoryRecord[] = [];
  private vt = 0;
  private readonly seqs = new Map<string, number>();
  private readonly written = new Map<string, { client: string; seq: number; row: string; effect: Effect }>();
  /** event → the version it was applied at */
  private readonly applied = new Map<string, number>();

  constructor(readonly clients: string[] = ["c0", "c1"]) {
    this.records.push({ type: "header", scenario: "test", seed: 1, clients, strategies: { "*": "merge" }, epoch: 0, format: 1 });
  }

  private t() {
    return { vt: (this.vt += 10), wt: this.vt / 10 };
  }

  write(client: string, row: string, effect: Effect, o: { base?: number | null; op?: "add" | "update" | "remove"; refused?: boolean; fault?: string } = {}): string {
    const seq = (this.seqs.get(client) ?? 0) + 1;
    this.seqs.set(client, seq);
    const event = `${client}-${seq}`;
    this.written.set(event, { client, seq, row, effect });
    this.records.push({
      type: "write", ...this.t(), client, event, seq, row, op: o.op ?? "update", effect, baseVersion: o.base ?? null,
      ...(o.refused ? { outcome: "refused", reason: "store full" } : { outcome: "acked" }),
      ...(o.fault ? { fault: o.fault } : {}),
    });
    return event;
  }

  settle(event: string, fields: Partial<Pick<SettleRecord, "status" | "outcome" | "version" | "reason" | "effect">>): this {
    const { client, row } = this.written.get(event)!;
    const applied = fields.status === undefined && ["applied", "coalesced", "duplicate"].includes(fields.outcome ?? "");
    if (applied && fields.version != null) this.applied.set(event, fields.version);
    return this.push({ type: "settle", ...this.t(), client, event, row, status: "completed", ...fields });
  }

  commit(event: string): this {
    const { client, row } = this.written.get(event)!;
    return this.push({ type: "commit", ...this.t(), client, event, row, version: this.applied.get(event) ?? null });
  }

  rollback(event: string, reason = "dropped"): this {
    const { client, row } = this.written.get(event)!;
    return this.push({ type: "rollback", ...this.t(), client, event, row, reason });
  }

  push(r: HistoryRecord): this {
    this.records.push(r);
    return this;
  }

  /** settled as applied at `version`, then committed */
  sync(event: string, version: number, outcome: "applied" | "coalesced" | "duplicate" = "applied"): this {
    return this.settle(event, { outcome, version }).commit(event);
  }

  read(client: string, row: string, version: number | null, value: RowValue, pending: string[] = []): this {
    return this.push({ type: "read", ...this.t(), client, row, version, value, pending, source: "server" });
  }

  /** The server rows as the applied edits make them (independent of the checker's replay). */
  serverRows(): Map<string, { version: number; value: RowValue }> {
    const edits = [...this.applied].map(([event, version]) => ({ ...this.written.get(event)!, version }));
    edits.sort((a, b) => a.version - b.version || a.seq - b.seq);
    const rows = new Map<string, { version: number; value: RowValue }>();
    for (const e of edits) {
      const before = rows.get(e.row)?.value ?? null;
      let value: RowValue = null;
      if (e.effect !== null) {
        value = { ...(before ?? {}) };
        for (const [k, v] of Object.entries(e.effect)) if (v === null) delete value[k];
        else value[k] = v;
      }
      rows.set(e.row, { version: e.version, value });
    }
    return rows;
  }

  finish(o: { rows?: Record<string, { version: number; value: RowValue }>; views?: Record<string, { version: number; value: RowValue }>; ledger?: Record<string, { audited?: number } | false> } = {}): HistoryRecord[] {
    const rows = this.serverRows();
    for (const [row, r] of Object.entries(o.rows ?? {})) rows.set(row, r);
    for (const client of this.clients) {
      for (const [row, r] of rows) {
        const v = o.views?.[`${client} ${row}`] ?? r;
        this.records.push({ type: "final-view", ...this.t(), client, row, version: v.version, value: v.value, pending: [], source: "server" });
      }
    }
    for (const [row, r] of rows) this.records.push({ type: "row", row, version: r.version, value: r.value });
    for (const [event, version] of this.applied) {
      const l = o.ledger?.[event];
      if (l === false) continue;
      this.records.push({ type: "ledger", event, outcome: "applied", version, audited: l?.audited ?? 1 });
    }
    this.records.push({ type: "end", ...this.t(), events: this.written.size, faults: {}, batches: 1 });
    return this.records;
  }
}

const doc = (v: string) => ({ name: v, status: v, note: v });

/** A run with a bit of everything that a correct system does. */
function cleanHistory(): History {
  const h = new History();
  h.records.push({ type: "phase", vt: 1, wt: 0, client: "c1", phase: "online" });
  const a = h.write("c0", WELL, doc("c0:1"), { op: "add", base: 0 });
  h.sync(a, 1);
  h.read("c1", WELL, 1, doc("c0:1"));
  const b = h.write("c1", WELL, { status: "c1:2" }, { base: 1 });
  h.sync(b, 2);
  h.read("c0", WELL, 2, { name: "c0:1", status: "c1:2", note: "c0:1" });
  // chart: select, select another, deselect the first
  const s1 = h.write("c0", CHART, { "curve-1": "c0:2" }, { op: "add", base: 0 });
  h.sync(s1, 1);
  const s2 = h.write("c1", CHART, { "curve-2": "c1:3" }, { op: "add", base: 1 });
  h.sync(s2, 2);
  const d = h.write("c0", CHART, { "curve-1": null }, { op: "remove", base: 2 });
  h.read("c0", CHART, 2, { "curve-2": "c1:3" }, [d]);
  h.sync(d, 3);
  h.read("c0", CHART, 3, { "curve-2": "c1:3" });
  // two edits coalesced into one version; a duplicate delivery; a conflict dropped and rolled back
  const c1 = h.write("c1", WELL, { note: "c1:4" }, { base: 2 });
  const c2 = h.write("c1", WELL, { name: "c1:5" }, { base: 2 });
  h.sync(c1, 3, "coalesced").sync(c2, 3);
  const dup = h.write("c0", WELL, { note: "c0:4" }, { base: 3 });
  h.records.push({ type: "fault", vt: 500, wt: 50, kind: "duplicate-batch", client: "c0", detail: { events: 1 } });
  h.sync(dup, 4, "duplicate");
  const lost = h.write("c1", WELL, { name: "c1:6" }, { base: 3 });
  h.read("c1", WELL, 3, { name: "c1:6", status: "c1:2", note: "c1:4" }, [lost]);
  h.settle(lost, { outcome: "conflict" }).rollback(lost, "remote wins");
  h.read("c1", WELL, 4, { name: "c1:5", status: "c1:2", note: "c0:4" });
  // a poison event ends dead, a refused write never entered the queue
  const poison = h.write("c0", "widget:widget-1", { name: "c0:6" }, { op: "add", fault: "poison" });
  h.settle(poison, { status: "dead", outcome: "rejected", reason: "unknown entity widget" }).rollback(poison, "unknown entity widget");
  h.write("c1", WELL, { note: "c1:7" }, { refused: true });
  return h;
}

function violated(v: Verdict): Partial<Record<InvariantName, number>> {
  return Object.fromEntries(v.invariants.filter((i) => i.violations > 0).map((i) => [i.name, i.violations]));
}

function examples(v: Verdict, name: InvariantName): string[] {
  return v.invariants.find((i) => i.name === name)!.examples.map((e) => e.message);
}

describe("sim checker", () => {
  it("passes a clean history on every invariant, each having checked something", async () => {
    const v = await checkHistory(cleanHistory().finish());
    expect(violated(v)).toEqual({});
    expect(v.pass).toBe(true);
    expect(v.invariants.map((i) => i.name)).toEqual([...INVARIANT_NAMES]);
    for (const i of v.invariants) expect(i.checked, i.name).toBeGreaterThan(0);
    expect(v.stats).toMatchObject({
      clients: 2, writes: 11, acked: 10, refused: 1, reads: 6, applied: 8, duplicates: 1, faults: { "duplicate-batch": 1 },
      settled: { "completed/applied": 6, "completed/coalesced": 1, "completed/duplicate": 1, "completed/conflict": 1, "dead/rejected": 1 },
    });
  });

  it("streams: the same verdict from an async iterable and from add()", async () => {
    const records = cleanHistory().finish();
    const stream = async function* () { yield* records; }; // prettier-ignore
    const checker = createChecker();
    for (const r of records) checker.add(r);
    expect(await checkHistory(stream())).toEqual(checker.verdict());
  });

  it("nothing-lost: an applied write without a ledger line, and one left failed", async () => {
    const h = new History();
    const a = h.write("c0", WELL, doc("c0:1"), { op: "add", base: 0 });
    h.sync(a, 1);
    const b = h.write("c0", WELL, { note: "c0:2" }, { base: 1 });
    h.settle(b, { status: "failed", reason: "timeout" }).rollback(b, "gave up");
    const v = await checkHistory(h.finish({ ledger: { [a]: false } }));
    expect(violated(v)).toEqual({ "nothing-lost": 2 });
    expect(examples(v, "nothing-lost")).toEqual([
      "c0's write c0-1 to well:well-1 ended applied but has no ledger line",
      "c0's write c0-2 to well:well-1 was left failed",
    ]);
  });

  it("nothing-twice: an event with two applied decisions in the audit log", async () => {
    const h = new History();
    const a = h.write("c0", WELL, doc("c0:1"), { op: "add", base: 0 });
    h.sync(a, 1);
    const v = await checkHistory(h.finish({ ledger: { [a]: { audited: 2 } } }));
    expect(violated(v)).toEqual({ "nothing-twice": 1 });
    expect(examples(v, "nothing-twice")[0]).toContain("applied 2 times");
  });

  it("per-row-order: a client's later edit of a row applied at a lower version", async () => {
    const h = new History();
    const a = h.write("c0", WELL, { name: "c0:1" });
    const b = h.write("c0", WELL, { status: "c0:2" });
    h.sync(b, 1).sync(a, 2);
    const v = await checkHistory(h.finish());
    expect(violated(v)).toEqual({ "per-row-order": 1 });
    expect(examples(v, "per-row-order")[0]).toContain("c0-1 (seq 1) at v2, then c0-2 (seq 2) at v1");
  });

  it("read-your-writes: a stale read after the client's own write", async () => {
    const h = new History();
    h.sync(h.write("c0", WELL, { name: "c0:1" }, { base: 0 }), 1);
    h.sync(h.write("c1", WELL, { name: "c1:1" }, { base: 1 }), 2);
    h.sync(h.write("c0", WELL, { name: "c0:2" }, { base: 2 }), 3);
    h.read("c0", WELL, 3, { name: "c1:1" });
    const v = await checkHistory(h.finish());
    expect(violated(v)).toEqual({ "read-your-writes": 1 });
    expect(examples(v, "read-your-writes")[0]).toBe(
      'c0 read well:well-1 with name = "c1:1" after its write c0-2 set "c0:2"; c1\'s write c1-1 made it at v2, not above v3 of c0-2',
    );
  });

  it("read-your-writes: another client's newer value is fine, even when its settle is recorded after the read", async () => {
    const h = new History();
    h.sync(h.write("c0", WELL, { name: "c0:1" }, { base: 0 }), 1);
    const b = h.write("c1", WELL, { name: "c1:1" }, { base: 1 });
    h.read("c0", WELL, 2, { name: "c1:1" });
    h.sync(b, 2);
    expect(violated(await checkHistory(h.finish()))).toEqual({});
  });

  it("deselected-reappeared: a chart entry the client deselected comes back", async () => {
    const h = new History();
    h.sync(h.write("c0", CHART, { "curve-1": "c0:1" }, { op: "add", base: 0 }), 1);
    h.sync(h.write("c0", CHART, { "curve-1": null }, { op: "remove", base: 1 }), 2);
    h.read("c0", CHART, 2, { "curve-1": "c0:1" });
    const v = await checkHistory(h.finish());
    expect(violated(v)).toEqual({ "deselected-reappeared": 1 });
    expect(examples(v, "deselected-reappeared")[0]).toBe(
      'c0 deselected curve-1 of chart_data_source:chart_data_source-1 (c0-2) but then read it selected as "c0:1"; that is its own older write c0-1',
    );
  });

  it("monotonic-reads: a read at a lower version than an earlier read (reads of no version are skipped)", async () => {
    const h = new History();
    h.sync(h.write("c0", WELL, { name: "c0:1" }, { base: 0 }), 1);
    h.sync(h.write("c0", WELL, { name: "c0:2" }, { base: 1 }), 2);
    h.read("c1", WELL, 2, { name: "c0:2" });
    h.read("c1", WELL, null, null);
    h.read("c1", WELL, 1, { name: "c0:1" });
    const v = await checkHistory(h.finish());
    expect(violated(v)).toEqual({ "monotonic-reads": 1 });
    expect(examples(v, "monotonic-reads")).toEqual(["c1 read well:well-1 at v1 after reading v2"]);
  });

  it("monotonic-writes: a read shows a client's later write but an older value than its earlier write", async () => {
    const h = new History();
    h.sync(h.write("c1", WELL, { name: "c1:1", status: "c1:1" }, { base: 0 }), 1);
    h.sync(h.write("c0", WELL, { name: "c0:1" }, { base: 1 }), 2);
    h.sync(h.write("c0", WELL, { note: "c0:2" }, { base: 2 }), 3);
    h.read("c1", WELL, 3, { name: "c1:1", status: "c1:1", note: "c0:2" });
    const v = await checkHistory(h.finish());
    expect(violated(v)).toEqual({ "monotonic-writes": 1 });
    expect(examples(v, "monotonic-writes")[0]).toBe(
      'c1 read well:well-1 showing c0\'s write c0-2 but name = "c1:1", older than its earlier write c0-1 ("c0:1"); c1\'s write c1-1 made it at v1, below v2 of c0-1',
    );
  });

  it("writes-follow-reads: an edit applied at a version not above the one it was made on", async () => {
    const h = new History();
    h.sync(h.write("c0", WELL, doc("c0:1"), { op: "add", base: 0 }), 1);
    h.sync(h.write("c1", WELL, { name: "c1:1" }, { base: 2 }), 2);
    const v = await checkHistory(h.finish());
    expect(violated(v)).toEqual({ "writes-follow-reads": 1 });
    expect(examples(v, "writes-follow-reads")).toEqual(["c1's edit c1-1 of well:well-1 was made on v2 but applied at v2"]);
  });

  it("an edit that changed nothing may be applied at the version it was made on, shared with the edit before", async () => {
    const h = new History();
    h.sync(h.write("c0", CHART, { "curve-1": "c0:1" }, { op: "add", base: 0 }), 1);
    h.sync(h.write("c1", CHART, { "curve-1": null }, { op: "remove", base: 1 }), 2);
    h.sync(h.write("c0", CHART, { "curve-2": "c0:2" }, { op: "add", base: 2 }), 3);
    h.sync(h.write("c0", CHART, { "curve-1": null }, { op: "remove", base: 3 }), 3);
    expect(violated(await checkHistory(h.finish()))).toEqual({});
  });

  it("edits coalesced into one that changed nothing (an entry added then removed) may be applied at the version they were made on", async () => {
    const h = new History();
    h.sync(h.write("c0", CHART, { "curve-1": "c0:1" }, { op: "add", base: 0 }), 1);
    const add = h.write("c1", CHART, { "curve-2": "c1:1" }, { op: "add", base: 1 });
    const remove = h.write("c1", CHART, { "curve-2": null }, { op: "remove", base: 1 });
    h.sync(add, 1, "coalesced").sync(remove, 1);
    expect(violated(await checkHistory(h.finish()))).toEqual({});
  });

  it("writes-follow-reads: coalesced edits that changed the row, applied at the version they were made on", async () => {
    const h = new History();
    h.sync(h.write("c0", CHART, { "curve-1": "c0:1" }, { op: "add", base: 0 }), 1);
    const add = h.write("c1", CHART, { "curve-2": "c1:1" }, { op: "add", base: 1 });
    const update = h.write("c1", CHART, { "curve-2": "c1:2" }, { op: "update", base: 1 });
    h.sync(add, 1, "coalesced").sync(update, 1);
    const v = await checkHistory(h.finish());
    expect(violated(v)).toEqual({ "writes-follow-reads": 2 });
    expect(examples(v, "writes-follow-reads")).toEqual([
      "c1's edit c1-1 of chart_data_source:chart_data_source-1 was made on v1 but applied at v1",
      "c1's edit c1-2 of chart_data_source:chart_data_source-1 was made on v1 but applied at v1",
    ]);
  });

  it("convergence: a final view that differs from the server's row", async () => {
    const h = new History();
    h.sync(h.write("c0", WELL, doc("c0:1"), { op: "add", base: 0 }), 1);
    h.sync(h.write("c0", WELL, { name: "c0:2" }, { base: 1 }), 2);
    const v = await checkHistory(h.finish({ views: { [`c1 ${WELL}`]: { version: 1, value: doc("c0:1") } } }));
    expect(violated(v)).toEqual({ convergence: 1 });
    expect(examples(v, "convergence")).toEqual([
      `c1's final view of ${WELL} differs from the server's row (v2): name is "c0:1" in the view, "c0:2" in the server`,
    ]);
  });

  it("convergence: a server row that differs from the replay of its applied edits", async () => {
    const h = new History();
    h.sync(h.write("c0", WELL, doc("c0:1"), { op: "add", base: 0 }), 1);
    const v = await checkHistory(h.finish({ rows: { [WELL]: { version: 1, value: { ...doc("c0:1"), extra: "zz" } } } }));
    expect(violated(v)).toEqual({ convergence: 1 });
    expect(examples(v, "convergence")).toEqual([
      `the server's row ${WELL} (v1) differs from the replay of its 1 applied edit: extra is "zz" in the server, nothing in the replay`,
    ]);
  });

  it("optimistic: an applied edit the client never committed or rolled back", async () => {
    const h = new History();
    const a = h.write("c0", WELL, doc("c0:1"), { op: "add", base: 0 });
    h.settle(a, { outcome: "applied", version: 1 });
    const v = await checkHistory(h.finish());
    expect(violated(v)).toEqual({ optimistic: 1 });
    expect(examples(v, "optimistic")).toEqual(["c0's write c0-1 to well:well-1 ended with neither a commit nor a rollback of its optimistic edit"]);
  });

  it("keeps the first five examples and counts the rest", async () => {
    const h = new History(["c0"]);
    h.sync(h.write("c0", WELL, { name: "c0:1" }, { base: 0 }), 10);
    for (let v = 9; v >= 1; v--) h.read("c0", WELL, v, { name: "c0:1" });
    const v = await checkHistory(h.finish());
    const mr = v.invariants.find((i) => i.name === "monotonic-reads")!;
    expect(mr.violations).toBe(8);
    expect(mr.examples).toHaveLength(5);
    expect(mr.examples[0]).toMatchObject({ client: "c0", row: WELL, message: "c0 read well:well-1 at v8 after reading v9" });
  });
});

describe("readHistory", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "mudsync-history-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, lines: string[]) => {
    const file = path.join(dir, name);
    writeFileSync(file, lines.map((l) => `${l}\n`).join(""));
    return file;
  };
  const read = async (file: string) => {
    const out: HistoryRecord[] = [];
    for await (const r of readHistory(file)) out.push(r);
    return out;
  };
  const failure = async (file: string) => {
    const err: unknown = await read(file).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    return (err as Error).message;
  };
  const lines = () => cleanHistory().finish().map((r) => JSON.stringify(r));

  it("reads a history back to the same records and verdict", async () => {
    const file = write("ok.ndjson", lines());
    const records = await read(file);
    expect(records).toEqual(cleanHistory().finish());
    expect((await checkHistory(readHistory(file))).pass).toBe(true);
  });

  it("names the file, the line and what was expected for a line that is not JSON", async () => {
    const l = lines();
    l[2] = '{"type":"write",';
    const file = write("bad-json.ndjson", l);
    const message = await failure(file);
    expect(message.startsWith(`${file}:3: (root): expected one JSON object per line (`)).toBe(true);
    expect(message).not.toContain("\n");
  });

  it("names the dot-path of a wrong field", async () => {
    const l = lines();
    const i = l.findIndex((x) => x.includes('"type":"settle"'));
    l[i] = l[i]!.replace('"status":"completed"', '"status":"done"');
    const file = write("bad-field.ndjson", l);
    expect(await failure(file)).toBe(
      `${file}:${i + 1}: status: expected one of "completed", "pending", "failed", "dead", got "done" (in a settle record)`,
    );
    const j = l.findIndex((x) => x.includes('"type":"read"'));
    const l2 = lines();
    l2[j] = l2[j]!.replace('"pending":[]', '"pending":[7]');
    const file2 = write("bad-nested.ndjson", l2);
    expect(await failure(file2)).toBe(`${file2}:${j + 1}: pending.0: expected a string, got 7 (in a read record)`);
  });

  it("reports a missing header and a missing end", async () => {
    const l = lines();
    const noHeader = write("no-header.ndjson", l.slice(1));
    expect(await failure(noHeader)).toBe(`${noHeader}:1: type: expected the header record first, got "phase"`);
    const noEnd = write("no-end.ndjson", l.slice(0, -1));
    expect(await failure(noEnd)).toBe(`${noEnd}: no end record after line ${l.length - 1}; expected a last line {"type":"end",…} (was the run cut short?)`);
    const empty = write("empty.ndjson", []);
    expect(await failure(empty)).toBe(`${empty}: empty history; expected a header record on the first line`);
  });
});
