/** Flags of `mudsync doctor`; the implementation is imported lazily. */
import type { Command } from "commander";
import { contextFrom } from "../shared/context.ts";
import { emit } from "../shared/output.ts";

/** Kept in step with src/doctor/rules (a test checks that every kind is listed). */
const KINDS_HELP = `
The store is the global --store (MUDSYNC_STORE, default ./.mudsync); the server the global --db (DATABASE_URL).
Examples: mudsync doctor --file user-export.json    mudsync --db "$PROD_URL" doctor --store ./user-store

Finding kinds (severity):
  stuck-processing      (error)   events in processing with no lease or an expired one: a crashed sync or a tab that died mid-batch
  failed-never-retried  (warning) failed events with no next attempt: the seed's loop reads only pending, so they stay failed
  poison-head           (error)   a failed event at the head of a row, holding back that row's later events
  unknown-entity        (warning) events of an entity the server does not know (an app newer or older than the server)
  invalid-event         (error)   events that fail validation (shape, values PostgreSQL cannot store, an entry without its id)
  applied-not-completed (warning) with --db: events in mudsync.applied_events that are not completed here (safe to mark completed)
  stale-base-version    (warning) with --db: baseVersion older than the server row: conflicts waiting to happen
  backoff-storm         (warning) many events with retryCount >= 3 whose next attempts fall within one second
  clock-skew            (warning) timestamps in the future, or far older than the rest of the queue
  oversized-payload     (error)   payloads over the server's max_payload_bytes (rejected)
  large-payload         (info)    payloads over a quarter of that limit
  duplicate-id          (error)   one event id on more than one row of an export
  add-remove-reorder    (warning) an add and a remove of one row that a batcher grouping by entity:type would swap
  stuck-head            (warning) the queue's head has not moved for longer than stuckAfterMs (read from the daemon holding the store)
  altered-cache         (error)   cache entries of the store whose HMAC tag does not match: altered on disk (never served)

Each finding has its evidence, the events it concerns (the first 10, "+N more") and the exact command that fixes it.
With --json prints {source, events, findings: [{kind, severity, title, evidence, eventIds, moreEvents, fix}], healthy};
progress goes to stderr (NDJSON with --json, a bar on a terminal). Nothing is changed anywhere: the store is read
without its lock, an export is not imported, the queue and the server are read in read-only transactions.

Exit codes: 0 healthy (no finding, or info findings only); 7 a finding needs action (an error or a warning);
2 bad input (a file that is not an export, a store that does not exist, a server without mudsync's schema);
5 a server that cannot be reached.`;

export function registerDoctorCommand(program: Command): void {
  program
    .command("doctor")
    .description(
      "diagnose a queue: the local store (default), an export file (--file, read without importing it) or the shared " +
        "Postgres queue (--queue), and the server with --db; reports each finding with its severity, evidence, events and the command that fixes it",
    )
    .option("--file <dump>", "diagnose a dexie export directly (streamed; nothing imported)")
    .option("--queue <url>", "diagnose the shared Postgres queue at this postgres:// URL (read-only)")
    .addHelpText("after", KINDS_HELP)
    .action(async (opts: { file?: string; queue?: string }, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { doctor, renderDoctor } = await import("./doctor.ts");
      const { ExitCode } = await import("../../errors.ts");
      const report = await doctor(opts, ctx);
      emit(report, renderDoctor, ctx);
      if (!report.healthy) process.exitCode = ExitCode.NeedsAction;
    });
}
