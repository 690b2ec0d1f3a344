/**
 * The daemon's structured logger: pino writing one JSON object per line to stderr, synchronously,
 * so the last lines before an exit are never lost. Every line carries `pid`, `time` (epoch ms),
 * `level` (pino's numbers) and `msg`; lifecycle lines add `event`.
 */
import { pino, type Logger } from "pino";

export type DaemonLogger = Logger;

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export function createDaemonLogger(level: LogLevel, fd = 2): DaemonLogger {
  return pino(
    { level, base: { pid: process.pid, name: "mudsync-daemon" } },
    pino.destination({ dest: fd, sync: true }),
  );
}
