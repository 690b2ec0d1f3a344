/** Flags of the `mudsync queue …` commands; implementations are imported lazily. */
import type { Command } from "commander";

export function registerQueueCommands(program: Command): void {
  program.command("queue").description("inspect and operate the local event queue");
}
