/** Every check the doctor makes, in the order they are documented. */
import type { RuleSpec } from "../rule.ts";
import { backoffStorm, failedNeverRetried, stuckProcessing } from "./lifecycle.ts";
import { addRemoveReorder, poisonHead } from "./row-order.ts";
import { duplicateId, invalidEvent, largePayload, oversizedPayload, unknownEntity } from "./validity.ts";
import { clockSkew } from "./clock-skew.ts";
import { appliedNotCompleted, staleBaseVersion } from "./server.ts";
import { stuckHead } from "./stuck-head.ts";
import { alteredCache } from "./cache-tags.ts";

export const RULES: readonly RuleSpec[] = [
  stuckProcessing,
  failedNeverRetried,
  poisonHead,
  unknownEntity,
  invalidEvent,
  appliedNotCompleted,
  staleBaseVersion,
  backoffStorm,
  clockSkew,
  oversizedPayload,
  largePayload,
  duplicateId,
  addRemoveReorder,
  stuckHead,
  alteredCache,
];
