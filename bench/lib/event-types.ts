/** The event shapes the benchmarks produce, taken from the core so they stay in step with it. */
export type { QueuedEvent } from "../../src/core/event.ts";
export type { WireEvent as WireEventLike } from "../../src/core/ports.ts";
