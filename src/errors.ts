/**
 * Domain errors and the exit codes they map to. Commands throw these; the top-level handler in
 * cli.ts prints `error.message` as one line and exits with `error.exitCode`. Anything that is not
 * a MudsyncError is unexpected and gets a stack trace.
 */

export const ExitCode = {
  Ok: 0,
  Failure: 1,
  BadInput: 2,
  NotDrained: 3,
  Locked: 4,
  Unavailable: 5,
  VerdictFailed: 6,
  NeedsAction: 7,
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODE_HELP = `Exit codes:
  0  ok
  1  unexpected failure
  2  bad usage or bad input (file, flag, config, request, a missing or wrong store key)
  3  queue not drained: events left pending, failed, dead or in conflict
  4  store is locked by another process
  5  server or store unavailable (connection refused, timed out), a queue too large for the local store, or a store file that cannot be written (disk full)
  6  verdict failed: an invariant was violated (sim run, sim check; bench batching: a strategy other than seed ended with rows different from naive's)
  7  doctor found something that needs action (an error or warning finding)
  130  interrupted (SIGINT or SIGTERM): sim run stopped and removed what it made`;

export class MudsyncError extends Error {
  readonly exitCode: ExitCode = ExitCode.Failure;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad flags, config or arguments. */
export class UsageError extends MudsyncError {
  override readonly exitCode = ExitCode.BadInput;
}

/** A file (dump, scenario, config) that cannot be used; names the file and where in it. */
export class InvalidInputError extends MudsyncError {
  override readonly exitCode = ExitCode.BadInput;
  constructor(
    readonly file: string,
    readonly where: string | undefined,
    readonly expected: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}${where ? ` at ${where}` : ""}: ${expected}`, options);
  }
}

/** Alias kept for the queue dump importer's callers. */
export class InvalidDumpError extends InvalidInputError {}

/** An event that fails validation; `path` is the dot-path inside the event. */
export class InvalidEventError extends MudsyncError {
  override readonly exitCode = ExitCode.BadInput;
  constructor(
    readonly where: string,
    readonly detail: string,
  ) {
    super(`${where}: ${detail}`);
  }
}

export class StoreLockedError extends MudsyncError {
  override readonly exitCode = ExitCode.Locked;
  constructor(
    readonly dir: string,
    readonly holderPid: number,
    readonly holderInfo?: string,
  ) {
    super(
      `store ${dir} is locked for writing by pid ${holderPid}${holderInfo ? ` (${holderInfo})` : ""}; stop that process or use its control API`,
    );
  }
}

/** Another simulation run holds the schema it runs in on this server. */
export class SimSchemaBusyError extends MudsyncError {
  override readonly exitCode = ExitCode.Locked;
}

/**
 * A store key that is missing, wrong, unreadable or too widely readable, or a store whose key
 * rotation was interrupted: bad input (the key given, or not given), so exit 2. Nothing stored
 * is changed.
 */
export class StoreKeyError extends MudsyncError {
  override readonly exitCode = ExitCode.BadInput;
}

export class StoreCorruptError extends MudsyncError {
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`store file ${file} is damaged: ${detail}`);
  }
}

/**
 * A --store path that cannot be a store: a read-only command given a store that does not exist
 * (a mistyped path must not read as an empty queue), or a path that is a file.
 */
export class StorePathError extends MudsyncError {
  override readonly exitCode = ExitCode.BadInput;
  constructor(
    readonly dir: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`store ${dir} ${reason}`, options);
  }
}

/**
 * A store file that could not be written (disk full, quota, read-only file system, I/O error):
 * the machine, not the input, is at fault. Names the file and the system's error code.
 */
export class StoreWriteError extends MudsyncError {
  override readonly exitCode = ExitCode.Unavailable;
  constructor(
    readonly file: string,
    readonly code: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class StoreTooLargeError extends MudsyncError {
  override readonly exitCode = ExitCode.Unavailable;
}

/** A store on a server (the shared Postgres queue) that cannot be reached. */
export class StoreUnavailableError extends MudsyncError {
  override readonly exitCode = ExitCode.Unavailable;
}

/**
 * A `--queue` URL whose database holds no shared queue that this mudsync can read (no such
 * database, no queue schema, or a queue schema not yet migrated to this version): bad input.
 */
export class QueueNotFoundError extends MudsyncError {
  override readonly exitCode = ExitCode.BadInput;
}

export class EventNotFoundError extends MudsyncError {
  override readonly exitCode = ExitCode.BadInput;
  constructor(readonly eventId: string) {
    super(`no event with id ${eventId} in the store`);
  }
}

export class LeaseLostError extends MudsyncError {
  constructor(readonly eventId: string) {
    super(`lease on event ${eventId} expired or was taken by another worker`);
  }
}

export class ConflictUnresolvedError extends MudsyncError {
  override readonly exitCode = ExitCode.NotDrained;
}

export class NotDrainedError extends MudsyncError {
  override readonly exitCode = ExitCode.NotDrained;
}

/** A run stopped by SIGINT or SIGTERM, after it cleaned up. */
export class InterruptedError extends MudsyncError {
  override readonly exitCode = ExitCode.Interrupted;
}

/** A server-side failure, classified once in the sink. */
export class SinkError extends MudsyncError {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The server is not set up for mudsync (schema not migrated, database missing, login refused):
 * no event is at fault, so the engine stops and leaves every event as it was.
 */
export class SinkSetupError extends MudsyncError {
  override readonly exitCode = ExitCode.BadInput;
  constructor(
    message: string,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class RetryableSinkError extends SinkError {
  override readonly exitCode = ExitCode.Unavailable;
  constructor(message: string, code?: string, options?: { cause?: unknown }) {
    super(message, true, code, options);
  }
}

/**
 * The server could not be reached at all (connection refused, host or network unreachable, name
 * not resolved, connect timed out, server starting up or out of connection slots): no batch was
 * sent, so no event is at fault. The engine stops the pass and gives every claimed event back as
 * it was, without counting an attempt: an outage never walks events towards \`dead\`.
 */
export class SinkUnreachableError extends RetryableSinkError {}

export class PermanentSinkError extends SinkError {
  constructor(message: string, code?: string, options?: { cause?: unknown }) {
    super(message, false, code, options);
  }
}

export class MigrationError extends MudsyncError {
  override readonly exitCode = ExitCode.BadInput;
}
