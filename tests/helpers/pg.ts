/**
 * Real-Postgres helpers for tests. Each test file gets a fresh database and drops it after.
 * In CI (CI=true) an unreachable server is a failure; locally the real-server suites are left out
 * and global-setup says so.
 */
import pg from "pg";

export const PG_ADMIN_URL = process.env.MUDSYNC_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

let availability: Promise<boolean> | undefined;
let lz4Support: Promise<boolean> | undefined;

/** A client of the admin database that gives up connecting after 3 s (for the probes below). */
function probeClient(): pg.Client {
  return new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
}

/** Whether the real server answers. In CI an unreachable server throws instead of returning false. */
export function realPgAvailable(): Promise<boolean> {
  availability ??= (async () => {
    const client = probeClient();
    try {
      await client.connect();
      await client.query("select 1");
      return true;
    } catch (err) {
      if (process.env.CI) {
        throw new Error(`CI=true but PostgreSQL at ${PG_ADMIN_URL} is unreachable: ${(err as Error).message}`);
      }
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return availability;
}

/**
 * Whether the real server answers and was built with lz4 (a temporary table with an lz4 column):
 * Debian's and most packaged builds are, so there the sink's lz4 migration is checked; on a build
 * without it, its pglz fallback.
 */
export function realPgHasLz4(): Promise<boolean> {
  lz4Support ??= (async () => {
    if (!(await realPgAvailable())) return false;
    const client = probeClient();
    await client.connect();
    try {
      await client.query("create temporary table mudsync_lz4_probe (v jsonb compression lz4)");
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === "0A000") return false;
      throw err;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return lz4Support;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates an empty database with a unique name; `drop()` terminates its sessions and drops it. */
export async function createTestDatabase(prefix = "mudsync_test"): Promise<TestDatabase> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 7)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(PG_ADMIN_URL, name),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
