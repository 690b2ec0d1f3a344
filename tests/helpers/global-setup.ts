/** Runs once before the suite: reports which real-server suites run or are left out. */
import { PG_ADMIN_URL, realPgAvailable } from "./pg.ts";

export default async function setup(): Promise<void> {
  const ok = await realPgAvailable();
  if (!ok) {
    process.stderr.write(
      `\n[mudsync tests] PostgreSQL at ${PG_ADMIN_URL} is unreachable: real-server suites are LEFT OUT; ` +
        "the PGlite path runs. In CI (CI=true) this is a failure.\n\n",
    );
  }
}
