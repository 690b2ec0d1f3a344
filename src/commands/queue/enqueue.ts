/**
 * `mudsync queue enqueue`: one event from flags, or many as NDJSON on stdin (`-` or `--stdin`).
 * Missing id, timestamp, status and retryCount are filled in. Lines are enqueued concurrently (a
 * window of them, so the store can group-commit), but each acknowledgement is reported in input
 * order and only after that event's enqueue has resolved, i.e. after it is durable. A bad line
 * stops the run with one error naming its line number; the lines before it stay acknowledged.
 */
import { createInterface } from "node:readline";
import { completeEvent } from "../../core/complete-event.ts";
import { EVENT_SHAPE_HINT, type QueuedEvent } from "../../core/event.ts";
import { InvalidEventError, UsageError } from "../../errors.ts";
import type { CommandContext } from "../shared/context.ts";
// daemon fallback: when a running daemon holds the store, events go through its control API
import { type EnqueueTarget, withEnqueueTarget } from "../shared/control-client.ts";
import { parseJsonObject } from "./parse-flags.ts";

export interface EnqueueFlags {
  stdin?: boolean;
  type?: string;
  entity?: string;
  entityId?: string;
  payload?: string;
  id?: string;
  clientId?: string;
  seq?: number;
  baseVersion?: number;
}

export interface Ack {
  id: string;
  /** the id was already in the store; the stored event was left as it was */
  existing: boolean;
}

export interface EnqueueSummary {
  enqueued: number;
  existing: number;
  ids: string[];
}

/** Events in flight at once when reading stdin. */
const WINDOW = 1024;
/** Ids kept in the returned result (all are acknowledged through onAck). */
const MAX_IDS = 1000;

export async function queueEnqueue(
  flags: EnqueueFlags,
  ctx: CommandContext,
  onAck: (ack: Ack) => void = () => {},
  input: NodeJS.ReadableStream = process.stdin,
): Promise<EnqueueSummary> {
  const result: EnqueueSummary = { enqueued: 0, existing: 0, ids: [] };
  const ack = (a: Ack) => {
    if (a.existing) result.existing++;
    else result.enqueued++;
    if (result.ids.length < MAX_IDS) result.ids.push(a.id);
    onAck(a);
  };
  if (!flags.stdin) {
    const event = eventFromFlags(flags, ctx.config.limits.maxPayloadBytes);
    await withEnqueueTarget(ctx, "queue enqueue", async (store) => {
      const r = await store.enqueue([event]);
      ack({ id: event.id, existing: r.existing.length > 0 });
    });
    return result;
  }
  await withEnqueueTarget(ctx, "queue enqueue", (store) => enqueueLines(store, input, ack, ctx.config.limits.maxPayloadBytes));
  return result;
}

function eventFromFlags(flags: EnqueueFlags, maxPayloadBytes: number): QueuedEvent {
  const missing = (["type", "entity", "entityId"] as const).filter((k) => flags[k] === undefined);
  if (missing.length > 0) {
    const names = missing.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    throw new UsageError(`queue enqueue needs ${names.join(", ")} (or NDJSON events on stdin with "-")`);
  }
  const draft: Record<string, unknown> = {
    type: flags.type,
    entity: flags.entity,
    entityId: flags.entityId,
    payload: flags.payload !== undefined ? parseJsonObject("--payload", flags.payload) : {},
  };
  if (flags.id !== undefined) draft.id = flags.id;
  if (flags.clientId !== undefined) draft.clientId = flags.clientId;
  if (flags.seq !== undefined) draft.seq = flags.seq;
  if (flags.baseVersion !== undefined) draft.baseVersion = flags.baseVersion;
  return completeEvent(draft, "flags", Date.now(), maxPayloadBytes);
}

async function enqueueLines(store: EnqueueTarget, input: NodeJS.ReadableStream, ack: (a: Ack) => void, maxPayloadBytes: number): Promise<void> {
  const inflight: Promise<Ack>[] = [];
  const settleHead = async () => ack(await inflight.shift()!);
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (line.trim() === "") continue;
      const event = parseLine(line, lineNo, maxPayloadBytes);
      const done = store.enqueue([event]).then((r) => ({ id: event.id, existing: r.existing.length > 0 }));
      done.catch(() => {}); // handled when its turn comes; avoids an unhandled rejection meanwhile
      inflight.push(done);
      if (inflight.length >= WINDOW) await settleHead();
    }
  } finally {
    lines.close();
    // whatever happened, report every event already handed to the store, in order
    const pending = inflight.splice(0);
    const settled = await Promise.allSettled(pending);
    for (const s of settled) {
      if (s.status === "fulfilled") ack(s.value);
      else throw s.reason;
    }
  }
}

function parseLine(line: string, lineNo: number, maxPayloadBytes: number): QueuedEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new InvalidEventError(`stdin line ${lineNo}`, `not valid JSON (${(err as Error).message}); expected one event object per line`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidEventError(`stdin line ${lineNo}`, `expected one event object per line; ${EVENT_SHAPE_HINT}`);
  }
  return completeEvent(value, `stdin line ${lineNo}`, Date.now(), maxPayloadBytes);
}

export function renderEnqueue(r: EnqueueSummary): string {
  if (r.enqueued + r.existing === 1) return `${r.existing ? "already present" : "enqueued"} ${r.ids[0]}`;
  return `enqueued ${r.enqueued} events${r.existing ? ` (${r.existing} already present, left as they were)` : ""}`;
}
