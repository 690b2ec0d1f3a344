/**
 * The pg/PGlite sinks' error classification: what the engine retries, what dead-letters at once,
 * and what stops the run as a setup problem.
 */
import { describe, expect, it } from "vitest";
import { classifySinkError } from "../../src/postgres/classify-error.ts";
import { PermanentSinkError, RetryableSinkError, SinkSetupError, SinkUnreachableError } from "../../src/errors.ts";

const pgError = (code: string, message = "server said no") => Object.assign(new Error(message), { code });

describe("classifySinkError", () => {
  it.each(["40001", "40P01", "57P01", "57P03", "53300", "53200", "57014", "55P03", "08006"])("SQLSTATE %s is retryable", (code) => {
    const err = classifySinkError(pgError(code), "apply_batch");
    expect(err).toBeInstanceOf(RetryableSinkError);
    expect(err.message).toBe(`apply_batch: server said no (SQLSTATE ${code})`);
  });

  it.each(["22023", "23505", "42883", "P0001"])("SQLSTATE %s is permanent", (code) => {
    expect(classifySinkError(pgError(code), "apply_batch")).toBeInstanceOf(PermanentSinkError);
  });

  it.each(["28P01", "28000", "3D000"])("SQLSTATE %s is a setup error", (code) => {
    expect(classifySinkError(pgError(code), "connect")).toBeInstanceOf(SinkSetupError);
  });

  it("connection loss without a SQLSTATE is retryable, by node code or by message", () => {
    expect(classifySinkError(pgError("ECONNRESET"), "apply_batch")).toBeInstanceOf(RetryableSinkError);
    expect(classifySinkError(new Error("Connection terminated unexpectedly"), "apply_batch")).toBeInstanceOf(RetryableSinkError);
    // lost during a query, the batch itself may be the cause: not an outage that spares attempts
    expect(classifySinkError(pgError("ECONNRESET"), "apply_batch")).not.toBeInstanceOf(SinkUnreachableError);
    expect(classifySinkError(new Error("Connection terminated unexpectedly"), "apply_batch")).not.toBeInstanceOf(SinkUnreachableError);
    expect(classifySinkError(new Error("syntax error"), "apply_batch")).toBeInstanceOf(PermanentSinkError);
  });

  it.each(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "08001", "08004", "57P03", "53300"])(
    "%s means the server was not reached: unreachable (retryable, and no event's fault)",
    (code) => {
      const err = classifySinkError(pgError(code, "connect failed"), "applying a batch of 3");
      expect(err).toBeInstanceOf(SinkUnreachableError);
      expect(err).toBeInstanceOf(RetryableSinkError);
      expect(err.exitCode).toBe(5);
    },
  );

  it("a connect timeout is unreachable; a timed-out query is not", () => {
    expect(classifySinkError(new Error("timeout exceeded when trying to connect"), "apply_batch")).toBeInstanceOf(SinkUnreachableError);
    const query = classifySinkError(pgError("57014", "canceling statement due to statement timeout"), "apply_batch");
    expect(query).toBeInstanceOf(RetryableSinkError);
    expect(query).not.toBeInstanceOf(SinkUnreachableError);
  });
});
