/** Flags of the `mudsync store …` commands (the local store's keys); implementations are imported lazily. */
import type { Command } from "commander";
import { contextFrom } from "../shared/context.ts";
import { emit } from "../shared/output.ts";

const KEY_NOTE =
  "\nThe store key comes from MUDSYNC_KEY_FILE (a file of mode 0600 holding 64 hex digits, the base64 of 32 bytes, " +
  "or 32 raw bytes) or MUDSYNC_KEY. A missing or wrong key is exit 2 and changes nothing. The conversion is " +
  "crash-safe: if it is interrupted, every other command refuses the store until the same command is run again, " +
  "which finishes it.";

export function registerStoreCommands(program: Command): void {
  const store = program.command("store").description("manage the local store's encryption at rest (store: --store DIR, MUDSYNC_STORE)");

  store
    .command("encrypt")
    .description("encrypt a store that is not encrypted with the key in MUDSYNC_KEY_FILE (or MUDSYNC_KEY): event payloads and cache data are sealed with AES-256-GCM")
    .addHelpText("after", KEY_NOTE)
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { storeEncrypt, renderRekey } = await import("./rekey.ts");
      emit(await storeEncrypt(ctx), renderRekey, ctx);
    });

  store
    .command("rotate-key")
    .description("re-seal an encrypted store with a new key; the current key comes from MUDSYNC_KEY_FILE (or MUDSYNC_KEY)")
    .requiredOption("--new-key-file <file>", "the new key (mode 0600); afterwards set MUDSYNC_KEY_FILE to it")
    .addHelpText("after", KEY_NOTE)
    .action(async (opts: { newKeyFile: string }, cmd: Command) => {
      const ctx = await contextFrom(cmd);
      const { storeRotateKey, renderRekey } = await import("./rekey.ts");
      emit(await storeRotateKey({ newKeyFile: opts.newKeyFile }, ctx), renderRekey, ctx);
    });
}
