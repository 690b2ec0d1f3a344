/**
 * Fault kinds: each is named, documented in docs/sim.md, and installed on the runner through one
 * hook — a client's sink layers (around each batch), its clock, its store, and the scheduler.
 * A kind that starts something (a proxy, a child process) stops it in `close()`; the runner calls
 * it on every exit.
 */
import type { QueuedEvent } from "../../core/event.ts";
import type { HistoryWriter } from "./history-writer.ts";
import type { Scheduler } from "./scheduler.ts";
import type { SimClient } from "./sim-client.ts";
import type { FaultSpec, FaultWhen } from "../scenario/resolve-scenario.ts";
import type { ApplyResult, WireEvent } from "../../core/ports.ts";
import { RetryableSinkError } from "../../errors.ts";
import type { ServerControl } from "./sim-database.ts";

export interface FaultContext {
  clients: SimClient[];
  scheduler: Scheduler;
  history: HistoryWriter;
  /** the scenario's seeded stream for faults */
  random: () => number;
  /** asks the runner to drain a client soon (after it comes back online, say) */
  requestDrain(client: SimClient): void;
  /** turns a client's network on or off (the runner keeps its timeline consistent) */
  setOnline(client: SimClient, online: boolean): Promise<void>;
  /** the real server's proxy, backends and sessions (absent on PGlite) */
  server?: ServerControl;
  /** closes the embedded PGlite and opens it again (present on PGlite only) */
  restartServer?(): Promise<void>;
}

export interface InstalledFault {
  close?(): Promise<void>;
}

/** The payload limit of the server (`max_payload_bytes`): an oversized poison event is past it. */
const OVERSIZED_BYTES = 1024 * 1024 + 1024;

/** Installs one fault of the scenario on the clients it names. */
export function installFault(spec: FaultSpec, ctx: FaultContext): InstalledFault {
  const targets = spec.clients.map((i) => ctx.clients[i]!).filter(Boolean);
  const record = (client: SimClient | null, detail?: unknown) =>
    ctx.history.write({ type: "fault", kind: spec.kind, client: client?.id ?? null, ...(detail !== undefined ? { detail } : {}) });
  switch (spec.kind) {
    case "poison":
      ctx.scheduler.at(spec.atMs, async () => {
        for (const c of targets) {
          for (let n = 0; n < spec.count; n++) {
            record(c, { variant: spec.variant });
            await poison(c, spec.variant, n);
          }
          ctx.requestDrain(c);
        }
      });
      return {};
    case "duplicate-batch":
      onBatches(spec, targets, ctx, async (c, events, next) => {
        // the first answer is lost on the way back; the client sends the batch again
        await next(events);
        record(c, { events: events.length });
        return next(events);
      });
      return {};
    case "clock-skew":
      // the skew itself is in the client's clock (the runner builds it from the scenario)
      for (const c of targets) record(c, { skewMs: spec.skewMs });
      return {};
    case "old-export":
      for (const c of targets) {
        let exported: QueuedEvent[] = [];
        ctx.scheduler.at(spec.exportAtMs, async () => {
          exported = await c.exportQueue();
          record(c, { step: "export", events: exported.length });
        });
        ctx.scheduler.at(spec.replayAtMs, async () => {
          await c.importReplacing(exported);
          record(c, { step: "replay", events: exported.length });
          ctx.requestDrain(c);
        });
      }
      return {};
    case "applied-but-errored":
      onBatches(spec, targets, ctx, async (c, events, next) => {
        record(c, { events: events.length, via: ctx.server?.proxy ? "proxy" : "sink" });
        if (ctx.server?.proxy) {
          // the server runs the batch and commits; its answer never reaches the client
          ctx.server.proxy.dropNextAnswer();
          return next(events);
        }
        await next(events);
        throw new RetryableSinkError("connection lost after the batch was sent: the server committed, the answer never came (simulated)");
      });
      return {};
    case "network":
      return network(spec, targets, ctx, record);
    case "terminate-backends": {
      const terminate = async (c: SimClient | null) => record(c, { terminated: await ctx.server!.terminateBackends() });
      if (spec.atMs !== undefined) ctx.scheduler.at(spec.atMs, () => terminate(null));
      onBatches({ ...spec, atMs: undefined }, targets, ctx, async (c, events, next) => {
        // the batch and the termination race, as they do when an operator ends sessions mid-drain
        const sent = next(events);
        sent.catch(() => undefined); // a failure is the engine's to see, where it awaits the batch below
        await terminate(c);
        return sent;
      });
      return {};
    }
    case "statement-timeout":
      for (const c of targets) {
        let storm = false;
        const slow = ctx.server!.sinkWithTimeout(spec.timeoutMs);
        ctx.scheduler.at(spec.atMs, () => {
          storm = true;
          record(c, { timeoutMs: spec.timeoutMs, forMs: spec.forMs });
        });
        ctx.scheduler.at(spec.atMs + spec.forMs, () => void (storm = false));
        c.sink.use((events, next) => (storm ? slow.applyBatch(events) : next(events)));
      }
      return {};
    case "kill-daemon":
      // wall time, on processes: the daemon pool (daemon-pool.ts) carries it out
      return {};
    case "restart-server":
      ctx.scheduler.at(spec.atMs, async () => {
        const started = performance.now();
        await ctx.restartServer!();
        record(null, { wallMs: Math.round(performance.now() - started) });
      });
      return {};
    case "offline":
      ctx.scheduler.at(spec.atMs, async () => {
        for (const c of targets) {
          record(c, { forMs: spec.forMs });
          await ctx.setOnline(c, false);
        }
      });
      ctx.scheduler.at(spec.atMs + spec.forMs, async () => {
        for (const c of targets) {
          await ctx.setOnline(c, true);
          ctx.requestDrain(c);
        }
      });
      return {};
  }
}

type Next = (events: WireEvent[]) => Promise<ApplyResult[]>;

/**
 * Runs `act` instead of a plain send on the batches a fault strikes: every Nth batch of a client,
 * a batch drawn by chance, or the first batch after a virtual time.
 */
function onBatches(spec: FaultWhen, targets: SimClient[], ctx: FaultContext, act: (c: SimClient, events: WireEvent[], next: Next) => Promise<ApplyResult[]>): void {
  if (spec.every === undefined && spec.chance === undefined && spec.atMs === undefined) return;
  for (const c of targets) {
    let n = 0;
    let armed = false;
    if (spec.atMs !== undefined) ctx.scheduler.at(spec.atMs, () => void (armed = true));
    c.sink.use((events, next) => {
      n += 1;
      const hit = (spec.every !== undefined && n % spec.every === 0) || (spec.chance !== undefined && ctx.random() < spec.chance) || armed;
      armed = false;
      return hit ? act(c, events, next) : next(events);
    });
  }
}

/** Network faults through the runner's proxy: cut, refuse for a while, slow down, cut a request. */
function network(spec: Extract<FaultSpec, { kind: "network" }>, targets: SimClient[], ctx: FaultContext, record: (c: SimClient | null, detail?: unknown) => void): InstalledFault {
  const proxy = ctx.server!.proxy!;
  const window = (on: () => unknown, off: () => unknown) => {
    void on();
    ctx.scheduler.after(spec.forMs ?? 0, async () => void (await off()));
  };
  const strike = (c: SimClient | null) => {
    switch (spec.mode) {
      case "cut":
        record(c, { mode: spec.mode, connections: proxy.cutAll() });
        return;
      case "refuse":
        record(c, { mode: spec.mode, forMs: spec.forMs, connections: proxy.cutAll() });
        window(() => proxy.refuse(true), () => proxy.refuse(false));
        return;
      case "latency":
        record(c, { mode: spec.mode, forMs: spec.forMs, latencyMs: spec.latencyMs });
        window(() => proxy.setLatency(spec.latencyMs ?? 0), () => proxy.setLatency(0));
        return;
      case "drop-request":
        record(c, { mode: spec.mode });
        proxy.cutNextRequest();
        return;
    }
  };
  if (spec.atMs !== undefined) ctx.scheduler.at(spec.atMs, () => strike(null));
  onBatches({ ...spec, atMs: undefined }, targets, ctx, async (c, events, next) => {
    strike(c);
    return next(events);
  });
  return {};
}

/** Enqueues one poison event through the client's normal edit path. */
async function poison(c: SimClient, variant: "unknown-entity" | "invalid-payload" | "oversized", n: number): Promise<void> {
  const tag = `${c.id}:poison-${n}`;
  if (variant === "unknown-entity") return c.edit("widget", `widget-${n + 1}`, "add", { name: tag }, "poison");
  if (variant === "invalid-payload") return c.edit("chart_data_source", "chart_data_source-1", "add", { label: tag }, "poison");
  return c.edit("well", "well-1", "update", { note: `${tag}:${"x".repeat(OVERSIZED_BYTES)}` }, "poison");
}
