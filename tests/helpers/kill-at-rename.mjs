/**
 * Crash injection for tests that run the real binary, loaded with `node --import` (through
 * NODE_OPTIONS): the process kills itself with SIGKILL at the MUDSYNC_KILL_AT_RENAME_NTH-th
 * (default 1) rename whose target path matches MUDSYNC_KILL_AT_RENAME (a regular expression),
 * just before it (MUDSYNC_KILL_AT_RENAME_WHEN=before, the default) or just after it (after).
 * Every crash-safe step of a store is a rename, so this stops a process between any two of them.
 */
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";

const pattern = process.env.MUDSYNC_KILL_AT_RENAME;
if (pattern) {
  const match = new RegExp(pattern);
  const after = process.env.MUDSYNC_KILL_AT_RENAME_WHEN === "after";
  let left = Number(process.env.MUDSYNC_KILL_AT_RENAME_NTH || 1);
  const rename = fs.promises.rename;
  fs.promises.rename = async function (from, to) {
    const hit = match.test(String(to)) && --left === 0;
    if (hit && !after) process.kill(process.pid, "SIGKILL");
    await rename.call(this, from, to);
    if (hit && after) process.kill(process.pid, "SIGKILL");
  };
  syncBuiltinESMExports();
}
