/** Flags of `mudsync daemon`; the implementation (src/commands/daemon/run-daemon.ts) is imported lazily. */
import { type Command, Option } from "commander";
import { STRATEGIES } from "../../config/strategies.ts";
import { ONE_STATEMENT_MODES } from "../../daemon/one-statement-choice.ts";
import { contextFrom, intArg } from "../shared/context.ts";
import { emit } from "../shared/output.ts";
import type { OneStatementMode } from "../../daemon/one-statement-choice.ts";

const HELP = `
Control API (loopback or unix socket; JSON in and out). Over TCP every route but /healthz and
/metrics needs "Authorization: Bearer <token>": the token is in <store>/control-token (mode 0600,
created at the first start) or the --token-file; the CLI's own calls read it. The unix socket
(mode 0600) needs no token. Events per client id are rate-limited (429 with Retry-After), see
limits in the config. Details: docs/security.md.
  GET  /healthz          200 {ok, paused, store, sink}; 503 when the sink is unreachable
  GET  /metrics          Prometheus text
  GET  /v1/status        engine counters, queue counts, head of the queue, paused, uptime, lease owner
  POST /v1/pause         stop claiming (answers once the batch in flight is settled)
  POST /v1/resume
  POST /v1/drain-now     run a drain pass now; answers {settled, left} when it ends
  POST /v1/retry         {"ids": [...]} and/or {"statuses": [...]}: back to pending, due now
  POST /v1/events        {"events": [...]}: enqueue; answers {ids, existing} once durable
  GET  /v1/events        ?status=&entity=&since=&limit=&after=&order=: one page, like \`queue ls --json\`
  GET  /v1/event         ?id=: one event and its status history, like \`queue show --json\`
  GET  /v1/activity      the status as of the last queue watch, batches in flight and lately, events
                         settled per second, row changes, open conflicts (never waits behind a drain)
  POST /v1/import        {"files": ["/abs/path.json"], "replace"?, "skipInvalid"?}: \`queue import\` of files
                         on this machine, all-or-nothing; answers {events, cache, invalid} counts
  POST /v1/batches       {"events": [...]} as the browser app sends them: applied at once, one
                         transaction, answers {"results": [...]} (apply_batch's per-event results)
A request with an Origin header is refused (403) except on /healthz and /v1/batches from --cors-origin.

The address is printed as the first JSON log line ({"event":"listening","control":…}) and
recorded in the store's lock: while the daemon runs, \`queue enqueue\` and \`queue import\` on that
store send their events or files through the control API, \`queue drain\` asks it for a pass
(/v1/drain-now), \`queue replay\` chooses the events read-only and has the daemon requeue and
drain them (/v1/retry, /v1/drain-now); \`queue ls/show/stats/export\` read the store directly.

Shared Postgres queue (--queue): when --queue and --db name the same database as the same user,
each batch is claimed, applied and settled in ONE statement and transaction (--one-statement auto,
the default; "on" insists, "off" claims with leases). Conflicts go back to the engine's strategy as
usual; events are not coalesced on that path. A failed transaction changes nothing and the pass
goes on with leases.

Signals: the first SIGTERM/SIGINT stops claiming, finishes the batch in flight, closes the store
and the sink and exits 0; a second exits at once with 130. --once exits 0 when drained, 3 if not.
Logs: one JSON object per line on stderr (pino), one per batch and per lifecycle event.`;

export function registerDaemonCommand(program: Command): void {
  program
    .command("daemon")
    .description(
      "run the engine continuously: drain as events arrive, follow the change feed, serve a control API " +
        "(status, pause, resume, drain-now, retry, enqueue, import, metrics, health, browser batches)",
    )
    .option("--queue <url>", "drain the shared Postgres queue at this postgres:// URL instead of the local store")
    .option("--listen <host:port>", "control API address, loopback only (default 127.0.0.1:0, a free port)")
    .option("--socket <path>", "serve the control API on this unix socket (mode 0600) instead")
    .option("--token-file <file>", "the control API's bearer token (mode 0600; created when missing)  [default <store>/control-token]")
    .option("--listen-public", "let --listen bind an address beyond loopback (the token is then the only guard: use TLS in front)")
    .option(
      "--import-root <dir>",
      "POST /v1/import reads export files only under this directory (repeatable; required for imports with --listen-public)",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option("--once", "drain what is due and exit (0 drained, 3 not)")
    .option("--batch-size <n>", "events per claim and per batch", intArg("--batch-size", 1))
    .option("--batch-delay <ms>", "after an enqueue, wait up to this long for a fuller batch", intArg("--batch-delay", 0))
    .addOption(new Option("--strategy <strategy>", "conflict strategy for every entity without its own").choices(STRATEGIES))
    .option("--cors-origin <origin>", "let pages of this origin call /v1/batches and /healthz (e.g. http://localhost:5173)")
    .option("--max-body <bytes>", "largest request body accepted (default 8 MiB); larger ones get 413", intArg("--max-body", 1024))
    .addOption(
      new Option(
        "--one-statement <mode>",
        "with --queue: claim, apply and settle each batch in one statement and transaction; auto = when --queue and --db name the same database",
      )
        .choices(ONE_STATEMENT_MODES)
        .default("auto"),
    )
    // the former name of --one-statement, still accepted so that existing scripts keep working
    .addOption(new Option("--fused <mode>").choices(ONE_STATEMENT_MODES).conflicts("oneStatement").hideHelp())
    .addHelpText("after", HELP)
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { runDaemon, renderDaemon } = await import("./run-daemon.ts");
      emit(
        await runDaemon(
          {
            queue: opts.queue as string | undefined,
            listen: opts.listen as string | undefined,
            socket: opts.socket as string | undefined,
            listenPublic: Boolean(opts.listenPublic),
            tokenFile: opts.tokenFile as string | undefined,
            importRoots: opts.importRoot as string[] | undefined,
            once: Boolean(opts.once),
            corsOrigin: opts.corsOrigin as string | undefined,
            maxBody: opts.maxBody as number | undefined,
            oneStatement: (opts.fused ?? opts.oneStatement) as OneStatementMode | undefined,
          },
          ctx,
        ),
        renderDaemon,
        ctx,
      );
    });
}
