/**
 * A sink over the in-memory model of fakes.ts: applies batches as the server would, and can be
 * told to fail the next batches or to refuse batches holding given events.
 */
import type { ApplyResult, Sink, WireEvent } from "../../src/core/ports.ts";
import { PermanentSinkError } from "../../src/errors.ts";
import { applyBatchToModel, createModel, type ModelState } from "./fakes.ts";

export class ModelSink implements Sink {
  readonly name = "model";
  readonly capabilities = { supportsTransactions: true, supportsListen: false, supportsDryRun: false };
  readonly batches: WireEvent[][] = [];
  parked: { event: WireEvent; current: unknown }[] = [];
  /** throw this before applying the next n batches */
  failNext: { error: Error; times: number } | undefined;
  /** throw a permanent error for any batch containing one of these ids */
  poison = new Set<string>();
  constructor(readonly model: ModelState = createModel()) {}
  async applyBatch(events: WireEvent[]): Promise<ApplyResult[]> {
    this.batches.push(events);
    if (this.failNext && this.failNext.times > 0) {
      this.failNext.times -= 1;
      throw this.failNext.error;
    }
    if (events.some((e) => this.poison.has(e.id))) throw new PermanentSinkError("invalid input syntax", "22P02");
    return applyBatchToModel(this.model, events);
  }
  async dryRun(): Promise<never> {
    throw new Error("not supported");
  }
  async getRow() {
    return null;
  }
  async parkConflicts(items: { event: WireEvent; current: unknown }[]) {
    this.parked.push(...items);
    return items.map((it, i) => ({ conflictId: this.parked.length - items.length + i + 1, eventId: it.event.id }));
  }
  async close() {}
}
