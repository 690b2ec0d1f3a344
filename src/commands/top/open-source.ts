/**
 * Which TopSource `mudsync top` watches: `--daemon URL|SOCKET` (the control API), `--queue URL`
 * (the shared Postgres queue, read-only), or the store (`--store`, default ./.mudsync). A store
 * held by a live daemon that published its control address is watched through that daemon, as
 * `queue drain` and `replay` do, so that the keys that act are available.
 */
import path from "node:path";
import { UsageError } from "../../errors.ts";
import type { TopSource } from "../../tui/top/model.ts";
import type { CommandContext } from "../shared/context.ts";
import { controlClientFor, daemonHolding, type ControlClient } from "../shared/control-client.ts";
import { DaemonSource } from "./daemon-source.ts";
import { daemonDoctorSource, headOf, runDoctor } from "./findings.ts";
import { ReaderSource } from "./reader-source.ts";

export interface SourceFlags {
  daemon?: string;
  queue?: string;
  /** the daemon's bearer token file (default: MUDSYNC_CONTROL_TOKEN, else <store>/control-token) */
  tokenFile?: string;
}

/** How long a read of the control API may take before the dashboard says the daemon does not answer. */
const READ_TIMEOUT_MS = 10_000;
/** drain-now answers when its pass ends */
const DRAIN_TIMEOUT_MS = 6 * 3_600_000;

export async function openTopSource(flags: SourceFlags, ctx: CommandContext, note: (line: string) => void = () => {}): Promise<TopSource> {
  if (flags.daemon !== undefined && flags.queue !== undefined) throw new UsageError("top watches one of --daemon or --queue, not both");
  if (flags.daemon !== undefined) {
    const client = await controlClientFor(controlAddress(flags.daemon), {
      storeDir: ctx.config.store,
      timeoutMs: READ_TIMEOUT_MS,
      ...(flags.tokenFile ? { tokenFile: flags.tokenFile } : {}),
    });
    return daemonSource(client, undefined, ctx);
  }
  if (flags.queue !== undefined) return queueSource(flags.queue, ctx);
  const held = await daemonHolding(ctx.config.store);
  if (held) {
    note(`mudsync: store ${ctx.config.store} is held by the daemon (pid ${held.pid}); watching it through ${held.client.address}`);
    return daemonSource(held.client.withTimeout(READ_TIMEOUT_MS), ctx.config.store, ctx);
  }
  return storeSource(ctx);
}

/** `http://host:port`, `host:port`, `unix:/path` or a socket path → the control client's address. */
export function controlAddress(value: string): string {
  if (/^https?:\/\//.test(value)) return value.replace(/\/+$/, "");
  if (value.startsWith("unix:")) return `unix:${path.resolve(value.slice("unix:".length))}`;
  if (/^[^/]+:\d+$/.test(value)) return `http://${value}`;
  if (value.includes("/") || value.endsWith(".sock")) return `unix:${path.resolve(value)}`;
  throw new UsageError(`--daemon "${value}": expected the daemon's control address (http://127.0.0.1:PORT, 127.0.0.1:PORT, or a unix socket path)`);
}

function daemonSource(client: ControlClient, storeDir: string | undefined, ctx: CommandContext): TopSource {
  return new DaemonSource(
    client,
    client.withTimeout(DRAIN_TIMEOUT_MS),
    (status) => {
      const source = daemonDoctorSource(status, storeDir);
      return typeof source === "string" ? source : { source, head: headOf(status) };
    },
    (source, head) => runDoctor(source, ctx, head),
  );
}

async function queueSource(url: string, ctx: CommandContext): Promise<TopSource> {
  const { openPostgresQueueReader } = await import("../../stores/postgres/queue-reader.ts");
  const first = await openPostgresQueueReader({ url, schema: ctx.config.queueSchema });
  let reader: typeof first | undefined = first;
  return new ReaderSource(
    "queue",
    first.label,
    "the shared queue is read without a daemon, read-only; act through a daemon on it: mudsync top --daemon ADDRESS",
    async () => {
      const r = reader ?? (await openPostgresQueueReader({ url, schema: ctx.config.queueSchema }));
      reader = undefined;
      return { reader: r, refresh: () => r.refresh() };
    },
    () => runDoctor({ kind: "queue", url, schema: ctx.config.queueSchema }, ctx),
  );
}

async function storeSource(ctx: CommandContext): Promise<TopSource> {
  const { openQueueStore } = await import("../queue/open-store.ts");
  const { storeSignature } = await import("./store-signature.ts");
  const dir = ctx.config.store;
  // opened once now so that a --store that names no store is refused before the screen opens
  const first = await openQueueStore(ctx, "read", "top");
  let pending: typeof first | undefined = first;
  return new ReaderSource(
    "store",
    dir,
    `the store is read directly, read-only (no daemon holds it); act through a daemon: mudsync daemon --store ${dir}, or use mudsync queue replay / drain`,
    async () => {
      let store = pending ?? (await openQueueStore(ctx, "read", "top"));
      pending = undefined;
      let seen = await storeSignature(dir);
      const handle = {
        reader: store,
        // a read-only store is a snapshot of the files: opened again only once a writer changed them
        async refresh() {
          const now = await storeSignature(dir);
          if (now === seen) return;
          const next = await openQueueStore(ctx, "read", "top");
          await store.close();
          store = next;
          seen = now;
          handle.reader = next;
        },
      };
      return handle;
    },
    () => runDoctor({ kind: "store", dir }, ctx),
  );
}
