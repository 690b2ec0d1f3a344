/**
 * Daemons draining the run's shared Postgres queue, as child processes (`mudsync daemon --queue`),
 * owned by the runner: started with a config file in the run directory, killed with SIGKILL on
 * the kill-daemon schedule (wall time) and started again, and stopped on every exit of the run.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { QueueStore } from "../../core/ports.ts";
import type { KillDaemonFault } from "../scenario/resolve-scenario.ts";
import { MudsyncError } from "../../errors.ts";

const BIN = fileURLToPath(new URL("../../../bin/mudsync.js", import.meta.url));

export interface DaemonPoolOptions {
  count: number;
  url: string;
  /** the daemons' sessions run every transaction SERIALIZABLE: racing daemons then meet serialization failures (40001) */
  serializable?: boolean;
  runDir: string;
  /** daemon config: schemas, lease, batch size, strategies */
  config: Record<string, unknown>;
  random: () => number;
  onKill(detail: { daemon: number; pid: number | undefined }): void;
}

interface Slot {
  child: ChildProcess | undefined;
  stderr: string;
  starts: number;
}

export class DaemonPool {
  private readonly slots: Slot[] = [];
  private readonly configFile: string;
  private stopping = false;
  private timers = new Set<NodeJS.Timeout>();
  kills = 0;

  constructor(private readonly o: DaemonPoolOptions) {
    this.configFile = path.join(o.runDir, "daemon.yaml");
    writeFileSync(this.configFile, stringify(o.config));
  }

  start(): void {
    for (let i = 0; i < this.o.count; i++) {
      this.slots.push({ child: undefined, stderr: "", starts: 0 });
      this.launch(i);
    }
  }

  /**
   * Kills a running daemon, `count` times, each started again after `restartAfterMs`: which daemon
   * and when (between half and one and a half `everyMs` of wall time apart) come from the seed, so
   * the kills land at random points of the drain.
   */
  schedule(fault: KillDaemonFault): void {
    let left = fault.count;
    const tick = () => {
      if (this.stopping || left <= 0) return;
      const live = this.slots.map((s, i) => ({ s, i })).filter((x) => x.s.child && x.s.child.exitCode === null);
      if (live.length > 0) {
        const { s, i } = live[Math.floor(this.o.random() * live.length)]!;
        left -= 1;
        this.kills += 1;
        this.o.onKill({ daemon: i, pid: s.child!.pid });
        s.child!.kill("SIGKILL");
        s.child = undefined;
        this.later(fault.restartAfterMs, () => this.launch(i));
      }
      this.later(fault.everyMs * (0.5 + this.o.random()), tick);
    };
    this.later(fault.everyMs * (0.5 + this.o.random()), tick);
  }

  /** Resolves once the queue has nothing left to settle, polling its counts (wall time, bounded). */
  async drained(queue: QueueStore, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      this.checkAlive();
      const c = await queue.counts();
      if (c.pending + c.processing + c.failed === 0) return true;
      if (performance.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Stops every daemon: SIGTERM (finish the batch in flight), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all(
      this.slots.map(async (s) => {
        const child = s.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private launch(i: number): void {
    if (this.stopping) return;
    const slot = this.slots[i]!;
    slot.starts += 1;
    const url = this.o.serializable ? withOptions(this.o.url, "-c default_transaction_isolation=serializable") : this.o.url;
    const child = spawn(process.execPath, [BIN, "daemon", "--queue", url, "--db", url, "--config", this.configFile, "--listen", "127.0.0.1:0",
      // the control token beside the run's config, not in a store under the current directory
      "--token-file", `${this.configFile}.control-token`], {
      env: { ...process.env, MUDSYNC_STORE: "", DATABASE_URL: "", MUDSYNC_SCHEMA: "", MUDSYNC_QUEUE_SCHEMA: "" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    slot.stderr = "";
    // every start's log goes to the run directory (kept with --keep), the last words stay in memory
    const log = createWriteStream(this.logFile(i), { flags: "a" });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      slot.stderr = (slot.stderr + d).slice(-4000);
      log.write(d);
    });
    child.once("exit", () => log.end());
    slot.child = child;
  }

  /** A daemon that exited on its own (not killed here) is a failure of the run, with its last words. */
  private checkAlive(): void {
    for (const [i, s] of this.slots.entries()) {
      const c = s.child;
      if (c && c.exitCode !== null && c.exitCode !== 0) {
        // its last words: the error line, not the stack under it nor Node's version banner
        const words = s.stderr.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("at ") && !l.startsWith("Node.js v") && !l.startsWith("^"));
        const error = words.find((l) => /error/i.test(l)) ?? words.at(-1) ?? "no output";
        throw new MudsyncError(`sim: daemon ${i} exited with code ${c.exitCode}: ${error} (its log: ${this.logFile(i)})`);
      }
    }
  }

  private logFile(i: number): string {
    return path.join(this.o.runDir, `daemon-${i}.log`);
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}

/** The URL with server options for every session it opens (libpq's `options` parameter). */
function withOptions(url: string, options: string): string {
  const u = new URL(url);
  u.searchParams.set("options", options);
  return u.toString();
}
