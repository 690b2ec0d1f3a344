/**
 * The dashboard's "top findings": `mudsync doctor`'s diagnosis of what top watches, as the
 * FindingsState the findings panel shows. A store (read directly, or the local store of the
 * daemon watched, with that daemon's head for the stuck-head check) or the shared queue; with
 * `--db`, the server's checks too. A daemon whose store is not on this machine cannot be
 * diagnosed from here, and the panel says so.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { DaemonStatus } from "../../daemon/control-api.ts";
import type { DaemonHeadStatus, DoctorInput, DoctorSource } from "../../doctor/types.ts";
import type { FindingsState } from "../../tui/top/model.ts";
import type { CommandContext } from "../shared/context.ts";

export async function runDoctor(source: DoctorSource, ctx: CommandContext, daemon?: DaemonHeadStatus): Promise<FindingsState> {
  const { diagnose } = await import("../../doctor/diagnose.ts");
  const input: DoctorInput = {
    ...source,
    ...(ctx.config.db ? { db: ctx.config.db, dbSchema: ctx.config.schema } : {}),
    ...(daemon ? { daemon } : {}),
  };
  const report = await diagnose(input, { stuckAfterMs: ctx.config.stuckAfterMs });
  return { at: Date.now(), findings: report.findings, healthy: report.healthy };
}

/**
 * What the doctor reads for a daemon: its store when top found the daemon through that store, or
 * the store its status names ("local DIR") when that directory is on this machine.
 */
export function daemonDoctorSource(status: DaemonStatus, knownStore: string | undefined): DoctorSource | string {
  if (knownStore !== undefined) return { kind: "store", dir: knownStore };
  const local = /^local (.+)$/.exec(status.store);
  if (local && existsSync(path.resolve(local[1]!))) return { kind: "store", dir: path.resolve(local[1]!) };
  if (local) return `the daemon's store ${local[1]} is not on this machine: run top there, or mudsync doctor on it`;
  return `the daemon drains ${status.store}: run mudsync doctor --queue URL on it (the address is not given to top)`;
}

export function headOf(status: DaemonStatus): DaemonHeadStatus {
  return { head: status.head, paused: status.paused, control: status.control };
}
