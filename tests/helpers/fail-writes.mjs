/**
 * Fault injection for tests that run the real binary, loaded with `node --import` (through
 * NODE_OPTIONS): writes through a FileHandle to files whose path matches MUDSYNC_FAIL_WRITES_MATCH
 * (a regular expression) fail with MUDSYNC_FAIL_WRITES_CODE (default ENOSPC) once
 * MUDSYNC_FAIL_WRITES_AFTER bytes (default 0) have gone to such files in this process. The write
 * that crosses the limit first writes what still fits, as a file system running out of space does.
 * Linux only (the path of a handle is read from /proc/self/fd).
 */
import { readlinkSync } from "node:fs";
import { open } from "node:fs/promises";
import os from "node:os";

const pattern = process.env.MUDSYNC_FAIL_WRITES_MATCH;
if (pattern) {
  const match = new RegExp(pattern);
  const code = process.env.MUDSYNC_FAIL_WRITES_CODE || "ENOSPC";
  let budget = Number(process.env.MUDSYNC_FAIL_WRITES_AFTER || 0);

  const probe = await open(os.devNull, "r");
  const proto = Object.getPrototypeOf(probe);
  await probe.close();
  const write = proto.write;

  const pathOf = (fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return "";
    }
  };
  const failure = () =>
    Object.assign(new Error(`${code}: injected failure, write`), { code, errno: code === "ENOSPC" ? -28 : -5, syscall: "write" });

  proto.write = async function (buffer, offset, length, position) {
    if (typeof buffer === "string" || !match.test(pathOf(this.fd))) return write.apply(this, arguments);
    if (offset !== null && typeof offset === "object") ({ offset, length, position } = offset);
    offset ??= 0;
    length ??= buffer.byteLength - offset;
    if (budget <= 0) throw failure();
    if (length > budget) {
      const r = await write.call(this, buffer, offset, budget, position);
      budget = 0;
      return r;
    }
    budget -= length;
    return write.call(this, buffer, offset, length, position);
  };
}
