/**
 * The sink contract's cases that depend on what a sink offers (its profile): the change feed, dry
 * runs (or their refusal), parked conflicts, and concurrent batches on a real server.
 */
import { expect, it } from "vitest";
import type { ApplyResult, RowChange } from "../../src/core/ports.ts";
import { PermanentSinkError, UsageError } from "../../src/errors.ts";
import { type ContractContext, conflictMethods, ev, ids } from "./sink-target.ts";

export function capabilityCases(c: ContractContext): void {
  const { profile, q, by, serverRow, count, ledgerCount } = c;

  it.runIf(profile.capabilities.supportsListen)(
    "its change feed publishes each committed change (entity, id, version, op, changedBy)",
    async () => {
      const k = ids("notify");
      const seen: RowChange[] = [];
      const feed = c.target?.feed;
      if (!feed) throw new Error(`${c.sink.name}: the profile says it listens, but the target has no feed`);
      const stop = await feed.subscribe((change) => {
        if (change.id.startsWith(k.row(""))) seen.push(change);
      });
      try {
        await c.sink.applyBatch([ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: {}, clientId: "cli-1" })]);
        await c.sink.applyBatch([
          ev({ id: k.ev(2), type: "update", entity: "well", entityId: k.row(1), payload: { a: 1 }, clientId: "cli-2" }),
          ev({ id: k.ev(3), type: "add", entity: "chart_data_source", entityId: k.row(2), payload: { id: "s" }, clientId: "cli-2" }),
        ]);
        await c.sink.applyBatch([ev({ id: k.ev(4), type: "remove", entity: "well", entityId: k.row(1), clientId: "cli-3" })]);
        for (let i = 0; i < 250 && seen.length < 4; i++) await new Promise((r) => setTimeout(r, 20));
        const deleted = { entity: "well", id: k.row(1), op: "delete" } as const;
        expect(seen).toEqual(
          expect.arrayContaining([
            { entity: "well", id: k.row(1), version: 1, op: "insert", changedBy: by("cli-1") },
            { entity: "well", id: k.row(1), version: 2, op: "update", changedBy: by("cli-2") },
            { entity: "chart_data_source", id: k.row(2), version: 1, op: "insert", changedBy: by("cli-2") },
            profile.deletesByKeyOnly ? expect.objectContaining(deleted) : { ...deleted, version: 3, changedBy: by("cli-3") },
          ]),
        );
        expect(seen).toHaveLength(4);
      } finally {
        await stop();
      }
    },
  );

  it(
    profile.capabilities.supportsDryRun
      ? "a dry run reports before and after and changes nothing"
      : "a sink without dry runs refuses one with a usage error and changes nothing",
    async () => {
      if (!profile.capabilities.supportsDryRun) {
        const k = ids("nodry");
        const err = await c.sink.dryRun([ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: { a: 1 } })]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UsageError);
        expect((err as Error).message).toMatch(new RegExp(`^dry run is not supported by the ${c.sink.name} sink`));
        expect(await serverRow("well", k.row(1))).toBeNull();
        expect(await ledgerCount(k.ev(1))).toBe(0);
        return;
      }
      const k = ids("dry");
      await c.sink.applyBatch([ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: { a: 1 } })]);
      const events = [
        ev({ id: k.ev(2), type: "update", entity: "well", entityId: k.row(1), payload: { a: 2 } }),
        ev({ id: k.ev(3), type: "add", entity: "polygon", entityId: k.row(2), payload: { p: 1 } }),
        ev({ id: k.ev(4), type: "add", entity: "nope", entityId: k.row(3) }),
      ];
      const report = await c.sink.dryRun(events);
      expect(report.results.map((r) => r.outcome)).toEqual(["applied", "applied", "rejected"]);
      expect(report.rows).toEqual([
        expect.objectContaining({ entity: "well", id: k.row(1), before: expect.objectContaining({ version: 1 }), after: expect.objectContaining({ version: 2, data: { a: 2 } }) }),
        expect.objectContaining({ entity: "polygon", id: k.row(2), before: null, after: expect.objectContaining({ version: 1 }) }),
        { entity: "nope", id: k.row(3), before: null, after: null },
      ]);
      expect(await serverRow("well", k.row(1))).toMatchObject({ version: 1, data: { a: 1 } });
      expect(await serverRow("polygon", k.row(2))).toBeNull();
      expect(await ledgerCount(k.ev(2))).toBe(0);
      expect((await c.sink.applyBatch(events)).map((r) => r.outcome)).toEqual(["applied", "applied", "rejected"]);
    },
  );

  it(profile.parksConflicts ? "parks conflicts and resolves them atomically, with every step audited" : "keeps no parked conflicts: the conflict methods are absent", async () => {
    if (!profile.parksConflicts) {
      expect([c.sink.parkConflicts, c.sink.listConflicts, c.sink.getConflict, c.sink.resolveConflict]).toEqual([undefined, undefined, undefined, undefined]);
      return;
    }
    const { parkConflicts, getConflict, listConflicts, resolveConflict } = conflictMethods(c.sink);
    const k = ids("park");
    await c.sink.applyBatch([
      ev({ id: k.ev(1), type: "add", entity: "well", entityId: k.row(1), payload: { a: 1, b: 1 } }),
      ev({ id: k.ev(2), type: "update", entity: "well", entityId: k.row(1), payload: { a: 2 }, seq: 2 }),
    ]);
    const local = ev({ id: k.ev(3), type: "update", entity: "well", entityId: k.row(1), payload: { b: 9 }, baseVersion: 1, clientId: "me" });
    const other = ev({ id: k.ev(4), type: "update", entity: "well", entityId: k.row(1), payload: { b: 7 }, baseVersion: 1 });
    const [c1, c2] = await c.sink.applyBatch([local, other]);
    expect(c1?.outcome).toBe("conflict");
    const parked = await parkConflicts([
      { event: local, current: c1?.current ?? null },
      { event: other, current: c2?.current ?? null },
    ]);
    expect(parked.map((p) => p.eventId)).toEqual([k.ev(3), k.ev(4)]);
    // parking again is idempotent
    expect(await parkConflicts([{ event: local, current: c1?.current ?? null }])).toEqual([parked[0]]);
    const id1 = parked[0]!.conflictId;
    const id2 = parked[1]!.conflictId;
    expect(await count(`select count(*) as n from ${q}.conflicts where event_id = any($1) and status = 'open'`, [[k.ev(3), k.ev(4)]])).toBe(2);
    expect(await getConflict(id1)).toMatchObject({ eventId: k.ev(3), status: "open", baseVersion: 1, currentVersion: 2, local: { payload: { b: 9 } } });
    expect((await listConflicts({ status: "open" })).map((x) => x.id)).toEqual(expect.arrayContaining([id1, id2]));

    const res = await resolveConflict(id1, "local", undefined, "alice");
    expect(res).toMatchObject({ conflictId: id1, take: "local", result: { outcome: "applied", version: 3 } });
    expect(res.row).toMatchObject({ version: 3, data: { a: 2, b: 9 } });
    const res2 = await resolveConflict(id2, "remote", undefined, "bob");
    expect(res2.result).toMatchObject({ outcome: "resolved", version: 3 });
    expect(await serverRow("well", k.row(1))).toMatchObject({ version: 3, data: { a: 2, b: 9 } });
    expect(await getConflict(id2)).toMatchObject({ status: "resolved", resolution: "remote", resolvedBy: "bob" });
    await expect(resolveConflict(id1, "remote")).rejects.toThrow(PermanentSinkError);
    await expect(resolveConflict(id1, "remote")).rejects.toThrow(/already resolved/);
    // both event ids now replay as duplicates
    expect((await c.sink.applyBatch([local, other])).map((r) => r.outcome)).toEqual(["duplicate", "duplicate"]);
    const { rows } = await c.inspect.query<{ event_id: string; decision: string; actor: string | null }>(
      `select event_id, decision, actor from ${q}.audit_log where event_id = any($1) order by id`,
      [[k.ev(3), k.ev(4)]],
    );
    expect(rows.filter((r) => r.event_id === k.ev(3)).map((r) => r.decision)).toEqual([
      "conflict", "parked", "applied", "resolved", "duplicate",
    ]);
    expect(rows.find((r) => r.event_id === k.ev(4) && r.decision === "resolved")?.actor).toBe("bob");

    // merged: the merged document is written
    const third = ev({ id: k.ev(5), type: "update", entity: "well", entityId: k.row(1), payload: { c: 1 }, baseVersion: 1 });
    const [c3] = await c.sink.applyBatch([third]);
    const [p3] = await parkConflicts([{ event: third, current: c3?.current ?? null }]);
    const res3 = await resolveConflict(p3!.conflictId, "merged", { a: 2, b: 9, c: 1 }, "carol");
    expect(res3.row).toMatchObject({ version: 4, data: { a: 2, b: 9, c: 1 } });
    expect(await serverRow("well", k.row(1))).toMatchObject({ version: 4, data: { a: 2, b: 9, c: 1 } });
  });

  it(`10 ${profile.concurrent ? "concurrent" : "back-to-back"} batches on the same rows: no deadlock, no lost update`, async () => {
    const k = ids("conc");
    const rows = [1, 2, 3, 4, 5].map((n) => k.row(n));
    await c.sink.applyBatch(rows.map((r, i) => ev({ id: k.ev(`init${i}`), type: "add", entity: "well", entityId: r, payload: { n: 0 } })));
    const batches = Array.from({ length: 10 }, (_, b) =>
      // odd batches touch the rows in reverse order
      (b % 2 ? [...rows].reverse() : rows).flatMap((r, i) => [
        ev({ id: k.ev(`${b}-${i}-a`), type: "update", entity: "well", entityId: r, payload: { [`b${b}`]: 1 }, clientId: `c${b}`, seq: 1 }),
        ev({ id: k.ev(`${b}-${i}-b`), type: "update", entity: "well", entityId: r, payload: { [`b${b}x`]: 1 }, clientId: `c${b}`, seq: 2 }),
      ]),
    );
    // a backend that serialises transactions (PGlite) gets them one after another
    const results: ApplyResult[][] = profile.concurrent
      ? await Promise.all(batches.map((b) => c.sink.applyBatch(b)))
      : await batches.reduce<Promise<ApplyResult[][]>>(async (acc, b) => [...(await acc), await c.sink.applyBatch(b)], Promise.resolve([]));
    expect(results.flat().filter((r) => r.outcome !== "applied")).toEqual([]);
    for (const r of rows) {
      const row = await serverRow("well", r);
      expect(row?.version).toBe(21);
      expect(Object.keys(row?.data as object).sort()).toEqual(
        ["n", ...Array.from({ length: 10 }, (_, b) => [`b${b}`, `b${b}x`]).flat()].sort(),
      );
    }
    expect(await count(`select count(*) as n from ${q}.applied_events where event_id like $1`, [`${k.ev("")}%`])).toBe(105);
  });
}
