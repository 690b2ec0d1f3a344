/**
 * `mudsync daemon`: opens the queue store for writing (the local store, or the shared Postgres
 * queue with --queue), the sink and its change feed, serves the control API and runs the engine
 * until SIGTERM/SIGINT (the first finishes the batch in flight and exits 0, a second forces exit
 * 130). `--once` drains what is due and exits like `queue drain` (0 drained, 3 not).
 *
 * Startup order: a local store held by another process is refused first, before anything is
 * bound or logged; then the control API listens, so the address (a real port when 0 was asked for)
 * is known when the store's lock is taken and can be recorded in it for other commands to find.
 * Until the store and sink are open, routes answer 503.
 */
import type { ChangeFeed, QueueStore, CacheStore, Sink } from "../../core/ports.ts";
import { createMetrics } from "../../daemon/prometheus-metrics.ts";
import type { DrainSummary } from "../../core/engine.ts";
import { ExitCode, UsageError } from "../../errors.ts";
import type { CommandContext } from "../shared/context.ts";
import { ownerName } from "../../config/engine-setup.ts";
import { openSinkFor } from "../shared/sink-setup.ts";
import { renderDrain, type DrainResult } from "../queue/drain.ts";
import { Daemon } from "../../daemon/daemon.ts";
import type { DaemonControl } from "../../daemon/control-api.ts";
import type { OneStatementBatches } from "../../core/one-statement-drain.ts";
import { chooseOneStatement, type OneStatementMode } from "../../daemon/one-statement-choice.ts";
import { ONE_STATEMENT_LOG_NAME } from "../../daemon/one-statement-observed.ts";
import { HttpError, startControlServer, type ControlServer } from "../../daemon/control-server.ts";
import { controlUrl, resolveListen } from "../../daemon/listen-address.ts";
import { createDaemonLogger, type DaemonLogger } from "../../daemon/logger.ts";
import { controlRoutes } from "../../daemon/routes.ts";
import { createDaemonMetrics } from "../../daemon/daemon-metrics.ts";
import { reportAlteredCache } from "../../daemon/cache-tamper-report.ts";
import { storeKeysOf } from "../queue/open-store.ts";
import { defaultTokenFile, loadOrCreateToken } from "../../daemon/control-token.ts";
import { resolveImportRoots } from "../../daemon/import-roots.ts";
import path from "node:path";

export interface DaemonCommandOptions {
  /** postgres://… shared queue instead of the local store */
  queue?: string;
  listen?: string;
  socket?: string;
  /** bind beyond loopback (--listen-public) */
  listenPublic?: boolean;
  /** the bearer token's file (default <store>/control-token) */
  tokenFile?: string;
  /** directories /v1/import may read files under (default: any path; required with --listen-public) */
  importRoots?: string[];
  once?: boolean;
  corsOrigin?: string;
  /** request body limit in bytes (default 8 MiB) */
  maxBody?: number;
  /** claim, apply and settle in one statement and transaction when queue and sink share a database (default auto) */
  oneStatement?: OneStatementMode;
}

export type DaemonResult =
  | { once: true; drain: DrainResult }
  | { once: false; stopped: true; control: string | null; engine: DrainSummary };

export const DEFAULT_MAX_BODY = 8 * 1024 * 1024;

type DaemonStore = QueueStore & { readonly cache?: CacheStore; readonly warnings?: readonly string[] };

export async function runDaemon(opts: DaemonCommandOptions, ctx: CommandContext): Promise<DaemonResult> {
  const corsOrigin = opts.corsOrigin === undefined ? undefined : checkOrigin(opts.corsOrigin);
  const serve = !opts.once || opts.listen !== undefined || opts.socket !== undefined;
  const addr = serve ? resolveListen(opts, ctx.cwd) : undefined;
  if (opts.queue === undefined) {
    const { assertStoreUnlocked } = await import("../../stores/dexie/index.ts");
    await assertStoreUnlocked(ctx.config.store);
  }
  // over TCP every route but /healthz and /metrics needs the token; the 0600 socket needs none
  const tokenFile = addr?.kind === "tcp" ? path.resolve(ctx.cwd, opts.tokenFile ?? defaultTokenFile(ctx.config.store)) : undefined;
  const token = tokenFile ? await loadOrCreateToken(tokenFile) : undefined;
  const importRoots = await resolveImportRoots(opts.importRoots, opts.listenPublic === true, ctx.cwd);
  const logger = createDaemonLogger(ctx.config.logLevel);
  const owner = `daemon:${ownerName()}`;

  let daemon: Daemon | undefined;
  let signals = 0;
  const stopRequested = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ event: "forced_exit", signal: name }, "second signal: exiting now");
      process.exit(130);
    }
    logger.info({ event: "signal", signal: name }, "signal received: finishing the batch in flight (signal again to force)");
    stopRequested.abort();
    void daemon?.stop();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  const metrics = createMetrics({ processMetrics: true });
  const dm = createDaemonMetrics(metrics);
  let server: ControlServer | undefined;
  let store: DaemonStore | undefined;
  let sink: Sink | undefined;
  try {
    if (addr) {
      server = await startControlServer(addr, {
        routes: controlRoutes(lateControl(() => daemon), { importRoots, limits: ctx.config.limits }),
        corsOrigin,
        maxBodyBytes: opts.maxBody ?? DEFAULT_MAX_BODY,
        ...(token ? { token } : {}),
        public: opts.listenPublic === true,
        onResponse: (r) => {
          dm.httpRequests.inc({ route: r.route, status: String(r.status) });
          logger.debug({ event: "request", ...r }, "request");
        },
        onError: (err, route) => logger.error({ event: "request_failed", route, err: String(err) }, "unexpected error in a request"),
      });
    }
    const control = server ? controlUrl(server.address) : null;
    if (control) logger.info({ event: "listening", control, ...(tokenFile ? { tokenFile } : {}) }, `control API on ${control}`);

    const opened = await openStore(opts, ctx, owner, control, tokenFile);
    store = opened.store;
    for (const w of store.warnings ?? []) logger.warn({ event: "store_warning" }, w);
    reportAlteredCache(store, logger, dm.cacheAltered);
    sink = await openSinkFor(ctx);
    const choice = await chooseOneStatement({
      mode: opts.oneStatement ?? "auto",
      queue: opts.queue,
      db: ctx.config.supabaseUrl && !ctx.config.db ? undefined : ctx.config.db,
      sinkSchema: ctx.config.schema,
      oneStatementWith: opened.oneStatementWith,
    });
    logger.info(
      { event: ONE_STATEMENT_LOG_NAME, active: choice.batches !== undefined, reason: choice.reason },
      choice.batches ? "one-statement drain: one transaction per batch" : "leased path",
    );
    const feed = "subscribe" in sink && typeof (sink as Partial<ChangeFeed>).subscribe === "function" ? (sink as unknown as ChangeFeed) : undefined;
    daemon = new Daemon({
      config: ctx.config,
      store,
      sink,
      feed,
      ...(choice.batches ? { oneStatement: choice.batches } : {}),
      metrics,
      daemonMetrics: dm,
      logger,
      owner,
      storeLabel: opened.label,
      control: control ?? "",
    });

    if (opts.once) {
      const summary = await daemon.runOnce();
      const left = summary.left ?? (await store.counts());
      const drained = left.pending + left.processing + left.failed + left.dead === 0;
      if (!drained) process.exitCode = ExitCode.NotDrained;
      logger.info({ event: "once_done", drained, settled: summary.settled, left }, drained ? "queue drained" : "queue not drained");
      return { once: true, drain: { ...summary, sink: sink.name, drained, left } };
    }
    await daemon.start();
    if (stopRequested.signal.aborted) await daemon.stop();
    await daemon.stopped();
    return { once: false, stopped: true, control, engine: daemon.snapshot() };
  } finally {
    await shutdown(logger, { server, daemon, store, sink });
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}

/** Stops in the order that loses nothing: no new requests, loop ends, then store and sink close. */
async function shutdown(
  logger: DaemonLogger,
  p: { server?: ControlServer; daemon?: Daemon; store?: DaemonStore; sink?: Sink },
): Promise<void> {
  const step = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      logger.error({ event: "shutdown_failed", step: what, err: String(err) }, `could not close the ${what}`);
    }
  };
  await Promise.all([step("control API", async () => p.server?.close()), step("loop", async () => p.daemon?.stop())]);
  await step("store", async () => p.store?.close());
  await step("sink", async () => p.sink?.close());
  logger.info({ event: "stopped" }, "daemon stopped");
}

async function openStore(
  opts: DaemonCommandOptions,
  ctx: CommandContext,
  owner: string,
  control: string | null,
  tokenFile: string | undefined,
): Promise<{ store: DaemonStore; label: string; oneStatementWith?: (sinkSchema: string) => Promise<OneStatementBatches | undefined> }> {
  if (opts.queue !== undefined) {
    const { openPostgresQueueStore } = await import("../../stores/postgres/index.ts");
    const { redactUrl } = await import("../../postgres/pg-client.ts");
    const store = await openPostgresQueueStore({ url: opts.queue, owner, schema: ctx.config.queueSchema });
    return { store, label: `postgres ${redactUrl(opts.queue)}`, oneStatementWith: (schema) => store.oneStatementWith(schema) };
  }
  const { openDexieStore } = await import("../../stores/dexie/index.ts");
  const store = await openDexieStore({
    dir: ctx.config.store,
    mode: "write",
    command: "daemon",
    keys: await storeKeysOf(ctx),
    ...(control ? { control } : {}),
    ...(tokenFile ? { tokenFile } : {}),
  });
  return { store, label: `local ${ctx.config.store}` };
}

/** The routes exist before the daemon does: until it is ready they answer 503. */
function lateControl(get: () => Daemon | undefined): DaemonControl {
  return new Proxy({} as DaemonControl, {
    get(_target, prop: keyof DaemonControl) {
      const d = get();
      if (!d) return () => Promise.reject(new HttpError(503, "daemon is starting: store and sink are not open yet"));
      const value: unknown = d[prop];
      return typeof value === "function" ? value.bind(d) : value;
    },
  });
}

function checkOrigin(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.origin !== value.replace(/\/$/, "")) {
    throw new UsageError(`--cors-origin "${value}": expected an origin like http://localhost:5173 (scheme, host and port only)`);
  }
  return url.origin;
}

export function renderDaemon(r: DaemonResult): string {
  if (r.once) return renderDrain(r.drain);
  return `daemon stopped: ${r.engine.settled} events settled (${r.engine.applied} applied, ${r.engine.dead} dead)`;
}
