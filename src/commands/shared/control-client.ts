/**
 * Talking to a running daemon from the CLI: a small JSON client for its control API (over
 * `http://127.0.0.1:PORT` or `unix:/path`), finding the daemon that holds a store from the
 * store's lock, and `withEnqueueTarget`, which gives `queue enqueue` the local store or, when a
 * daemon holds it, the daemon (events are sent in groups, each caller answered once durable).
 *
 * Over TCP the client sends the daemon's bearer token: given, or read from the token file the
 * store's lock names (default `<store>/control-token`), or from MUDSYNC_CONTROL_TOKEN. A 429 is
 * waited out (its Retry-After) while the request's time allows.
 */
import { request } from "node:http";
import { defaultTokenFile, readTokenFile } from "../../daemon/control-token.ts";
import type { QueuedEvent } from "../../core/event.ts";
import type { EnqueueResult } from "../../core/ports.ts";
import { ExitCode, MudsyncError, StoreLockedError } from "../../errors.ts";
import type { CommandContext } from "./context.ts";

/** A non-2xx answer, or no answer, from a daemon's control API. */
export class DaemonRequestError extends MudsyncError {
  override readonly exitCode: ExitCode;
  constructor(
    message: string,
    readonly status: number | undefined,
    /** a 429's Retry-After */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.exitCode = status === undefined || status >= 500 ? ExitCode.Unavailable : status === 409 ? ExitCode.Locked : ExitCode.BadInput;
  }
}

export class ControlClient {
  private readonly token: string | undefined;

  constructor(
    /** `http://host:port` or `unix:/path/to.sock` */
    readonly address: string,
    private readonly timeoutMs = 60_000,
    /** the daemon's bearer token (default: MUDSYNC_CONTROL_TOKEN); not sent over a unix socket */
    token?: string,
  ) {
    this.token = token ?? (process.env.MUDSYNC_CONTROL_TOKEN || undefined);
  }

  /** The same daemon and token with another time limit per request. */
  withTimeout(timeoutMs: number): ControlClient {
    return new ControlClient(this.address, timeoutMs, this.token);
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("POST", path, body);
  }

  async request<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      try {
        return await this.once<T>(method, path, body);
      } catch (err) {
        // over the rate limit: wait as told, while the time allowed for the request lasts
        const wait = err instanceof DaemonRequestError && err.status === 429 ? err.retryAfterMs : undefined;
        if (wait === undefined || Date.now() + wait > deadline) throw err;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private once<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const unix = this.address.startsWith("unix:");
    const auth: Record<string, string> = !unix && this.token ? { authorization: `Bearer ${this.token}` } : {};
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const target = this.address.startsWith("unix:")
      ? { socketPath: this.address.slice("unix:".length) }
      : (() => {
          const u = new URL(this.address);
          return { hostname: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port) };
        })();
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          ...target,
          method,
          path,
          timeout: this.timeoutMs,
          headers: payload ? { ...auth, "content-type": "application/json", "content-length": payload.length } : auth,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            let value: unknown = text;
            if (/json/.test(String(res.headers["content-type"]))) {
              try {
                value = JSON.parse(text);
              } catch {
                value = text;
              }
            }
            if (status >= 200 && status < 300) return resolve(value as T);
            const reason = (value as { error?: unknown } | null)?.error ?? text;
            const retryAfter = Number(res.headers["retry-after"]);
            reject(
              new DaemonRequestError(
                `daemon at ${this.address}: ${method} ${path} answered ${status}: ${String(reason)}`,
                status,
                Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined,
              ),
            );
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on("error", (err: NodeJS.ErrnoException) =>
        reject(new DaemonRequestError(`daemon at ${this.address} did not answer ${method} ${path}: ${err.code ?? err.message}`, undefined)),
      );
      req.end(payload);
    });
  }
}

/**
 * The daemon holding a store's lock, if one is alive and published a control address; its client
 * carries the token from the file the lock names.
 */
export async function daemonHolding(storeDir: string): Promise<{ pid: number; client: ControlClient } | undefined> {
  const { lockInfo } = await import("../../stores/dexie/index.ts");
  const info = await lockInfo(storeDir);
  if (!info?.alive || !info.control) return undefined;
  return { pid: info.pid, client: await controlClientFor(info.control, { storeDir, ...(info.tokenFile ? { tokenFile: info.tokenFile } : {}) }) };
}

/**
 * A client for the daemon at `address` with its token: from `tokenFile`, else MUDSYNC_CONTROL_TOKEN,
 * else `<storeDir>/control-token` when it exists. For `top` and other callers given an address.
 */
export async function controlClientFor(
  address: string,
  opts: { storeDir?: string; tokenFile?: string; timeoutMs?: number } = {},
): Promise<ControlClient> {
  let token: string | undefined;
  if (!address.startsWith("unix:")) {
    if (opts.tokenFile) token = await readTokenFile(opts.tokenFile, "token file");
    token ??= process.env.MUDSYNC_CONTROL_TOKEN || undefined;
    if (token === undefined && opts.storeDir) token = await readTokenFile(defaultTokenFile(opts.storeDir), "token file");
  }
  return new ControlClient(address, opts.timeoutMs, token);
}

/** What `queue enqueue` writes to: the local store or a daemon. */
export interface EnqueueTarget {
  enqueue(events: QueuedEvent[]): Promise<EnqueueResult>;
}

/** Most events sent in one POST /v1/events. */
const GROUP = 1000;

/**
 * Enqueues through a daemon: calls made in the same turn of the event loop are sent together, and
 * each call resolves with its own ids once the daemon has answered (i.e. once they are durable).
 */
export class DaemonEnqueuer implements EnqueueTarget {
  private queued: { events: QueuedEvent[]; resolve(r: EnqueueResult): void; reject(e: unknown): void }[] = [];
  private scheduled = false;

  constructor(private readonly client: ControlClient) {}

  enqueue(events: QueuedEvent[]): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => {
      this.queued.push({ events, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    while (this.queued.length > 0) {
      const group: typeof this.queued = [];
      let n = 0;
      while (this.queued.length > 0 && (group.length === 0 || n + this.queued[0]!.events.length <= GROUP)) {
        const next = this.queued.shift()!;
        group.push(next);
        n += next.events.length;
      }
      try {
        const r = await this.client.post<{ ids: string[]; existing: string[] }>("/v1/events", { events: group.flatMap((g) => g.events) });
        const existing = new Set(r.existing);
        for (const g of group) {
          const ids = g.events.map((e) => e.id);
          g.resolve({ inserted: ids.filter((id) => !existing.has(id)), existing: ids.filter((id) => existing.has(id)) });
        }
      } catch (err) {
        for (const g of group) g.reject(err);
      }
    }
  }
}

/**
 * Runs `fn` with the local store opened for writing; when a live daemon holds the store's lock and
 * published its control address, runs it against the daemon instead (one note on stderr).
 */
export async function withEnqueueTarget<T>(ctx: CommandContext, command: string, fn: (target: EnqueueTarget) => Promise<T>): Promise<T> {
  const { openQueueStore } = await import("../queue/open-store.ts");
  let store: Awaited<ReturnType<typeof openQueueStore>>;
  try {
    store = await openQueueStore(ctx, "write", command);
  } catch (err) {
    if (!(err instanceof StoreLockedError)) throw err;
    const daemon = await daemonHolding(ctx.config.store);
    if (!daemon) throw err;
    process.stderr.write(`mudsync: store ${ctx.config.store} is held by the daemon (pid ${daemon.pid}); sending through ${daemon.client.address}\n`);
    return fn(new DaemonEnqueuer(daemon.client));
  }
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
