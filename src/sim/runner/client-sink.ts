/**
 * The sink a simulated client drains into: the run's shared sink behind the client's network
 * state and the fault layers installed on it. Offline, every call fails as an unreachable server
 * does, so the engine gives its claimed events back without counting an attempt.
 */
import type { ApplyResult, DryRunReport, RowState, Sink, WireEvent } from "../../core/ports.ts";
import { SinkUnreachableError } from "../../errors.ts";

/** A fault hook around one batch: call `next` to send it on (any number of times). */
export type SinkLayer = (events: WireEvent[], next: (events: WireEvent[]) => Promise<ApplyResult[]>) => Promise<ApplyResult[]>;

export class ClientSink implements Sink {
  readonly name: string;
  readonly capabilities: Sink["capabilities"];
  online = true;
  batches = 0;
  private readonly layers: SinkLayer[] = [];

  constructor(
    private base: Sink,
    private readonly clientId: string,
  ) {
    this.name = base.name;
    this.capabilities = base.capabilities;
    if (base.parkConflicts) this.parkConflicts = (items) => this.reachable().then(() => this.base.parkConflicts!(items));
  }

  /** The server behind was replaced (restarted): calls go to the new one. */
  rebase(sink: Sink): void {
    this.base = sink;
  }

  parkConflicts?: Sink["parkConflicts"];

  /** Adds a layer outside the ones already installed. */
  use(layer: SinkLayer): void {
    this.layers.push(layer);
  }

  async applyBatch(events: WireEvent[]): Promise<ApplyResult[]> {
    await this.reachable();
    this.batches += 1;
    let call = (batch: WireEvent[]) => this.base.applyBatch(batch);
    for (const layer of this.layers) {
      const inner = call;
      call = (batch) => layer(batch, inner);
    }
    return call(events);
  }

  async dryRun(events: WireEvent[]): Promise<DryRunReport> {
    await this.reachable();
    return this.base.dryRun(events);
  }

  async getRow(entity: string, id: string): Promise<RowState | null> {
    await this.reachable();
    return this.base.getRow(entity, id);
  }

  /** The shared sink belongs to the run: a client never closes it. */
  async close(): Promise<void> {}

  private async reachable(): Promise<void> {
    if (!this.online) throw new SinkUnreachableError(`${this.clientId} is offline (simulated)`);
  }
}
