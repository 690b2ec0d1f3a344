/**
 * The writer's lock: `<dir>/queue/LOCK`, created exclusively (O_EXCL) and holding JSON
 * {pid, startedAt, command, control?, tokenFile?}, mode 0600. A lock whose pid is no longer alive is stale and is taken
 * over; a live one makes the second writer fail with StoreLockedError naming the holder.
 */
import { constants } from "node:fs";
import { link, open, readFile, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { StoreLockedError } from "../../errors.ts";

export interface LockInfo {
  pid: number;
  startedAt: number;
  command: string;
  /** a daemon's control address (unix socket or http://127.0.0.1:port) */
  control?: string;
  /** the file holding that control API's bearer token (the file, never the token) */
  tokenFile?: string;
}

export const LOCK_FILE = "LOCK";

/** queue directories this process holds the lock of (a lock naming our own pid may be a leftover of an earlier process that had the same pid) */
const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Reads the lock of a queue directory; undefined when nobody holds it or it is unreadable. */
export async function readLock(queueDir: string): Promise<(LockInfo & { alive: boolean }) | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(queueDir, LOCK_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const info = JSON.parse(text) as LockInfo;
    if (!Number.isInteger(info.pid) || info.pid <= 0) return undefined;
    return { ...info, alive: isAlive(info.pid) };
  } catch {
    // a lock written half-way by a process that died at that moment
    return undefined;
  }
}

function describe(info: LockInfo): string {
  const parts = [`command "${info.command}"`, `since ${new Date(info.startedAt).toISOString()}`];
  if (info.control) parts.push(`control ${info.control}`);
  return parts.join(", ");
}

async function createExclusive(file: string, info: LockInfo): Promise<boolean> {
  try {
    const fh = await open(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
    try {
      await fh.writeFile(JSON.stringify(info));
      await fh.sync();
    } finally {
      await fh.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/**
 * Throws StoreLockedError when a live process holds the lock, as acquireLock would, without taking
 * it: for a writer that must refuse before it starts anything else (the daemon, before it binds
 * its control address). acquireLock still decides when two writers start at the same moment.
 */
export async function assertUnlocked(queueDir: string): Promise<void> {
  const holder = await readLock(queueDir);
  const leftover = holder?.pid === process.pid && !heldHere.has(path.resolve(queueDir));
  if (holder?.alive && !leftover) throw new StoreLockedError(path.dirname(queueDir), holder.pid, describe(holder));
}

/**
 * Takes the lock for this process. Returns a note when a stale lock was taken over.
 * Throws StoreLockedError when a live process holds it.
 */
export async function acquireLock(
  queueDir: string,
  info: LockInfo,
): Promise<{ note?: string }> {
  const file = path.join(queueDir, LOCK_FILE);
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await createExclusive(file, info)) {
      heldHere.add(path.resolve(queueDir));
      return {};
    }
    const holder = await readLock(queueDir);
    const leftover = holder?.pid === process.pid && !heldHere.has(path.resolve(queueDir));
    if (holder?.alive && !leftover) throw new StoreLockedError(path.dirname(queueDir), holder.pid, describe(holder));
    // stale (or unreadable) lock: move it aside atomically, then check we moved the one we judged
    const aside = `${file}.stale.${process.pid}`;
    try {
      await rename(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    const moved = await readFile(aside, "utf8").catch(() => "");
    let movedPid: number | undefined;
    try {
      movedPid = (JSON.parse(moved) as LockInfo).pid;
    } catch {
      movedPid = undefined;
    }
    if (movedPid !== undefined && movedPid !== holder?.pid && isAlive(movedPid)) {
      // another process took the stale lock over in between: put its lock back
      await link(aside, file).catch(() => undefined);
      await unlink(aside).catch(() => undefined);
      continue;
    }
    await unlink(aside).catch(() => undefined);
    if (await createExclusive(file, info)) {
      heldHere.add(path.resolve(queueDir));
      const was = holder ? `pid ${holder.pid} (${describe(holder)})` : "an unreadable lock";
      return { note: `took over a stale lock on ${path.dirname(queueDir)} left by ${was}, no longer running` };
    }
  }
  const holder = await readLock(queueDir);
  throw new StoreLockedError(path.dirname(queueDir), holder?.pid ?? 0, holder ? describe(holder) : "lock contended");
}

/** Removes the lock if this process holds it. */
export async function releaseLock(queueDir: string): Promise<void> {
  heldHere.delete(path.resolve(queueDir));
  const holder = await readLock(queueDir).catch(() => undefined);
  if (holder && holder.pid !== process.pid) return;
  await unlink(path.join(queueDir, LOCK_FILE)).catch(() => undefined);
}
