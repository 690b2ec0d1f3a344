/** Flags of the `mudsync queue …` commands; implementations are imported lazily. */
import { type Command, Option } from "commander";
import { contextFrom, intArg, parseDuration } from "../shared/context.ts";
import { emit } from "../shared/output.ts";
import { STRATEGIES } from "../../config/strategies.ts";

const STATUSES = "pending, processing, completed, failed, dead";

const QUEUE_READ_HELP = "read the shared Postgres queue at this postgres:// URL instead of the store (read-only, no daemon needed)";
const QUEUE_READ_NOTE =
  "\nWith --queue the shared queue is read in one read-only transaction: nothing is created, migrated or changed. " +
  "A database without a mudsync queue (or with an older one) is exit 2, a server that cannot be reached exit 5.";

export function registerQueueCommands(program: Command): void {
  const queue = program
    .command("queue")
    .description("inspect and operate the local event queue (store: --store DIR, MUDSYNC_STORE, default ./.mudsync)");

  queue
    .command("import")
    .description(
      "load dexie-export-import JSON exports of EventQueueDB (and of CacheDB) into the local store. Every file is " +
        "validated first (streaming, any size): a bad file changes nothing (exit 2, one line naming the file, " +
        "the JSON path and the expected shape). Re-importing is idempotent: ids already present are kept and reported. " +
        "When a running daemon holds the store, the daemon writes the files (POST /v1/import), still all-or-nothing.",
    )
    .argument("<files...>", "export files (EventQueueDB and/or CacheDB)")
    .option("--replace", "overwrite events (and cache entries) whose id is already in the store")
    .option("--skip-invalid", "import the valid rows and report the invalid ones instead of failing")
    .addHelpText("after", "\nWith --json, progress goes to stderr as NDJSON lines and the result to stdout.")
    .action(async (files: string[], opts: { replace?: boolean; skipInvalid?: boolean }, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { queueImport, renderImport } = await import("./import.ts");
      emit(await queueImport({ files, replace: opts.replace, skipInvalid: opts.skipInvalid }, ctx), renderImport, ctx);
    });

  queue
    .command("export")
    .description(
      "write the local queue as a dexie-export-import export of EventQueueDB (the browser app's format: " +
        "`queue import` and the app's importInto both read it); --cache also writes the cache as a CacheDB export",
    )
    .argument("<file>", "where to write the events export")
    .option("--cache <file>", "also export the TTL cache (CacheDB) to this file")
    .option("--db-version <n>", "databaseVersion written in the header (default 1, the browser app's)", intArg("--db-version", 1))
    .option("--sign", "sign every row with an HMAC under the store key (MUDSYNC_KEY_FILE or MUDSYNC_KEY): `queue import` refuses an altered file, naming the first bad row")
    .option("--encrypt", "write the events' payloads (and cached data) sealed with the store key, as the store holds them; only mudsync can read them back")
    .action(async (file: string, opts: { cache?: string; dbVersion?: number; sign?: boolean; encrypt?: boolean }, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { queueExport, renderExport } = await import("./export.ts");
      emit(await queueExport({ file, cache: opts.cache, databaseVersion: opts.dbVersion, sign: opts.sign, encrypt: opts.encrypt }, ctx), renderExport, ctx);
    });

  queue
    .command("ls")
    .description("list one page of events (columns: id, status, entity:entityId, type, age, retries, last error)")
    .option("--status <list>", `only these statuses, comma-separated (${STATUSES})`)
    .option("--entity <name>", "only events of this entity")
    .option("--since <time>", "only events queued at or after this time: ISO time, epoch ms, or a duration ago (15m, 2h, 3d)")
    .option("--limit <n>", "page size (1-10000)", intArg("--limit", 1), 50)
    .option("--after <cursor>", 'continue after this cursor (the "next" of the previous page)')
    .addOption(new Option("--order <order>", "newest or oldest first").choices(["newest", "oldest"]).default("newest"))
    .option("--file <dump>", "read a dexie export directly instead of the store (streamed; keeps only the page)")
    .option("--queue <url>", QUEUE_READ_HELP)
    .addHelpText("after", '\nWith --json prints {"counts": {status: n}, "events": [...], "next": cursor|null}.' + QUEUE_READ_NOTE)
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { queueLs, renderLs, lsJson } = await import("./ls.ts");
      const r = await queueLs(opts, ctx);
      if (ctx.json) emit(lsJson(r), () => "", ctx);
      else emit(r, renderLs, ctx);
    });

  queue
    .command("show")
    .description("show one event: every field, the payload pretty-printed, and its status history if recorded")
    .argument("<id>", "event id")
    .option("--queue <url>", QUEUE_READ_HELP)
    .addHelpText("after", QUEUE_READ_NOTE)
    .action(async (id: string, opts: { queue?: string }, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { queueShow, renderShow } = await import("./show.ts");
      emit(await queueShow({ id, queue: opts.queue }, ctx), renderShow, ctx);
    });

  queue
    .command("stats")
    .description(
      "counts by status and entity, oldest pending age, events stuck in processing (no lease or lease expired), " +
        "failed events by retry count, payload size percentiles",
    )
    .option("--file <dump>", "compute them on a dexie export directly instead of the store")
    .option("--queue <url>", QUEUE_READ_HELP)
    .addHelpText("after", QUEUE_READ_NOTE)
    .action(async (opts: { file?: string; queue?: string }, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { queueStats, renderStats } = await import("./stats.ts");
      emit(await queueStats(opts, ctx), renderStats, ctx);
    });

  queue
    .command("enqueue")
    .description(
      "add one event from flags, or many as NDJSON on stdin (`-` or --stdin); id, timestamp, status and retryCount " +
        'are filled in when absent. With --json prints {"id": …} per event, in input order, only once it is durable.',
    )
    .argument("[source]", '"-" to read NDJSON events from stdin')
    .option("--stdin", "read NDJSON events from stdin")
    .addOption(new Option("--type <type>", "event type").choices(["add", "remove", "update"]))
    .option("--entity <name>", "entity name (e.g. well, chart_data_source)")
    .option("--entity-id <id>", "id of the row the event edits")
    .option("--payload <json>", "payload as a JSON object (default {})")
    .option("--id <id>", "event id (default: a random UUID)")
    .option("--client-id <id>", "client that produced the event")
    .option("--seq <n>", "per-client sequence number", intArg("--seq", 0))
    .option("--base-version <n>", "row version the edit was made against", intArg("--base-version", 0))
    .addHelpText("after", "\nA bad stdin line stops with exit 2 naming the line; events acknowledged before it stay.")
    .action(async (source: string | undefined, opts: Record<string, unknown>, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { queueEnqueue, renderEnqueue } = await import("./enqueue.ts");
      const { UsageError } = await import("../../errors.ts");
      if (source !== undefined && source !== "-") throw new UsageError(`queue enqueue takes "-" (stdin) as its only argument; got "${source}"`);
      const onAck = ctx.json
        ? (a: { id: string; existing: boolean }) =>
            process.stdout.write(`${JSON.stringify(a.existing ? { id: a.id, existing: true } : { id: a.id })}\n`)
        : undefined;
      const r = await queueEnqueue({ ...opts, stdin: source === "-" || Boolean(opts.stdin) }, ctx, onAck);
      if (!ctx.json) emit(r, renderEnqueue, ctx);
    });

  queue
    .command("drain")
    .description(
      "apply everything due to the server in batches (one transaction and one round trip each) until nothing is " +
        "claimable; failed events are retried when due (with --wait the command waits for them). Ends with a summary.",
    )
    .option("--batch-size <n>", "wire events per batch (default 500)", intArg("--batch-size", 1))
    .addOption(new Option("--strategy <s>", "conflict strategy (default: config, else manual)").choices([...STRATEGIES]))
    .option("--no-coalesce", "send every event as it is (no merging of consecutive edits of a row)")
    .option("--max-attempts <n>", "failed attempts before an event is dead (default 10)", intArg("--max-attempts", 1))
    .option("--wait", "keep going while failed events wait for their retry time, and while the server cannot be reached (tries again after 1 s, 2 s … at most 30 s)")
    .option("--timeout <duration>", "stop claiming after this long (30s, 5m, 1h); the batch in flight is finished")
    .option("--low-memory", "collect garbage sooner: less peak memory when the whole store is in memory (17–31% at 100k events with --part-size 0), up to about 20% more CPU; a drain in parts always does")
    .option(
      "--part-size <n>",
      "most events held in memory at once: a larger local store is drained in parts of its rows, one part at a time (default 10000; 0: the whole store at once)",
      intArg("--part-size", 0),
    )
    .addHelpText(
      "after",
      "\nExit 0 when nothing is left pending, processing, failed or dead; 3 otherwise (see `queue ls --status failed,dead`)." +
        "\nA store larger than --part-size is drained in parts: all events of a row are in the same part, so each row keeps the order of its edits, but rows of a later part are applied after those of an earlier one." +
        "\nA server that cannot be reached is no event's fault: the batch in flight is given back unchanged, no attempt counted, exit 5 (without --wait)." +
        "\nProgress: a bar on a terminal, NDJSON on stderr with --json. First Ctrl-C finishes the batch in flight; a second one forces exit." +
        "\nWhen a running daemon holds the store, the daemon is asked for a pass instead (POST /v1/drain-now); same exit codes.",
    )
    .action(async (opts: { timeout?: string; wait?: boolean; lowMemory?: boolean; partSize?: number }, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { queueDrain, renderDrain } = await import("./drain.ts");
      const timeoutMs = opts.timeout ? parseDuration("--timeout", opts.timeout) : undefined;
      emit(await queueDrain({ wait: opts.wait, timeoutMs, lowMemory: opts.lowMemory, partSize: opts.partSize }, ctx), renderDrain, ctx);
    });

  queue
    .command("replay")
    .description(
      "move chosen events back to pending (attempts reset) and drain them; events the server already applied come back " +
        "as duplicates. With --dry-run nothing changes anywhere: the same drain (batching, conflict strategy) runs in a " +
        "server transaction that is rolled back, and each event's outcome and each changed field are shown. When a running daemon holds the store, the events " +
        "are chosen read-only and the daemon requeues and drains them (POST /v1/retry, /v1/drain-now).",
    )
    .option("--status <list>", `which events, comma-separated (${STATUSES}; default failed,dead)`)
    .option("--ids <list>", "exactly these event ids, comma-separated")
    .option("--entity <name>", "only events of this entity")
    .option("--dry-run", "drain inside a rolled-back transaction: what each event would become and which fields of which rows would change; changes nothing (the store's other due events are drained with them, as in the real replay)")
    .option("--wait", "keep draining while failed events wait for their retry time")
    .option("--actor <name>", "who replays, for the server's audit log (default $USER)")
    .addOption(new Option("--strategy <s>", "conflict strategy (default: config, else manual)").choices([...STRATEGIES]))
    .action(async (opts: { status?: string; ids?: string; entity?: string; dryRun?: boolean; wait?: boolean; actor?: string }, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { parseStatuses } = await import("./parse-flags.ts");
      const { queueReplay, renderReplay } = await import("./replay.ts");
      const ids = opts.ids ? opts.ids.split(",").map((s) => s.trim()).filter(Boolean) : undefined;
      emit(
        await queueReplay({ statuses: parseStatuses(opts.status), ids, entity: opts.entity, dryRun: opts.dryRun, wait: opts.wait, actor: opts.actor }, ctx),
        renderReplay,
        ctx,
      );
    });
}
