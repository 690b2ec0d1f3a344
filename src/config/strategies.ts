/** Conflict strategies, kept apart from the config schema so the CLI wiring loads without zod. */
export const STRATEGIES = ["local-wins", "remote-wins", "merge", "manual"] as const;
export type Strategy = (typeof STRATEGIES)[number];
