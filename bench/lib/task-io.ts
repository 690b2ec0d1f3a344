/** The child side of run-task: reads the JSON parameters and prints the JSON result. */
export function taskParams<T>(): T {
  const raw = process.argv[2];
  if (!raw) throw new Error("task parameters missing: expected one JSON argument");
  return JSON.parse(raw) as T;
}

export function taskResult(value: unknown): void {
  process.stdout.write(`\n${JSON.stringify(value)}\n`);
}

/** Runs a task's main function, printing its result or its error (exit 1). */
export function runTaskMain<P, R>(main: (params: P) => Promise<R>): void {
  main(taskParams<P>())
    .then((r) => {
      taskResult(r);
      process.exit(0);
    })
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    });
}
