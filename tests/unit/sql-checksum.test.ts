/**
 * Migration checksums ignore comments, so a comment of an applied migration can be corrected; a
 * database that recorded the checksum of a file's earlier whole text still matches it while the
 * statements are the same, and any change to a statement is still refused.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MigrationError } from "../../src/errors.ts";
import { PREVIOUS_CHECKSUMS_FILE, loadMigrations, migrate, migrationStatus } from "../../src/postgres/migrator.ts";
import { sqlChecksum, stripComments } from "../../src/postgres/sql-checksum.ts";
import { QUEUE_MIGRATIONS_DIR } from "../../src/stores/postgres/queue-target.ts";
import { MIGRATIONS_DIR } from "../../src/sinks/sink-migrations.ts";
import { createMigratedPglite } from "../helpers/pglite.ts";
import type { PgliteSink } from "../../src/sinks/pglite/pglite-sink.ts";

describe("sqlChecksum", () => {
  const sql = "-- what it does\nCREATE TABLE t (a int); /* why */\n  SELECT '-- kept', 'it''s';  -- note\n";
  it("is the same when only comments, blank lines or spacing change", () => {
    expect(sqlChecksum(sql)).toBe(sqlChecksum("CREATE  TABLE t (a int);\n\n-- other words\nSELECT '-- kept', 'it''s';\n"));
    expect(stripComments(sql)).toBe("CREATE TABLE t (a int);\nSELECT '-- kept', 'it''s';");
  });
  it("changes with any statement, and with the text of a string literal", () => {
    expect(sqlChecksum(sql)).not.toBe(sqlChecksum(sql.replace("a int", "a bigint")));
    expect(sqlChecksum(sql)).not.toBe(sqlChecksum(sql.replace("'-- kept'", "'-- changed'")));
  });
});

describe("earlier whole-text checksums", () => {
  for (const dir of [MIGRATIONS_DIR, QUEUE_MIGRATIONS_DIR]) {
    it(`every entry of ${path.basename(path.dirname(dir))}/${path.basename(dir)}/${PREVIOUS_CHECKSUMS_FILE} has the statements of the file now`, () => {
      const previous = JSON.parse(readFileSync(path.join(dir, PREVIOUS_CHECKSUMS_FILE), "utf8")) as Record<string, { text: string; sql: string }[]>;
      const files = new Map(loadMigrations(dir).map((m) => [m.name, m]));
      for (const [name, entries] of Object.entries(previous)) {
        const m = files.get(name);
        expect(m, name).toBeDefined();
        for (const e of entries) {
          expect(e.sql, name).toBe(m!.checksum);
          expect(m!.acceptedTextChecksums, name).toContain(e.text);
        }
      }
    });
  }

  describe("on a database migrated by an earlier version", () => {
    let sink: PgliteSink;
    beforeAll(async () => {
      sink = await createMigratedPglite("earlier_sums");
    });
    afterAll(async () => {
      await sink?.close();
    });

    // what databases migrated before 009's comment was corrected recorded for it: the sha256 of its whole text
    const EARLIER_009_TEXT = "4fff6c2ae4762326d8cc183bb0af7670fca86b01bb0a3520f2bc6c2b6ee66ead";

    it("matches the whole-text checksums it recorded, and refuses a statement that changed", async () => {
      await sink.client.query("update earlier_sums.migrations set checksum = $1 where name = '009_lz4_documents.sql'", [EARLIER_009_TEXT]);
      const previous = JSON.parse(readFileSync(path.join(MIGRATIONS_DIR, PREVIOUS_CHECKSUMS_FILE), "utf8")) as Record<string, { text: string }[]>;
      for (const [name, [e]] of Object.entries(previous)) {
        await sink.client.query("update earlier_sums.migrations set checksum = $1 where name = $2", [e!.text, name]);
      }
      const state = await migrationStatus(sink.client, { schema: "earlier_sums", dir: MIGRATIONS_DIR });
      expect(state.pending).toEqual([]);
      expect((await migrate(sink.client, { schema: "earlier_sums", dir: MIGRATIONS_DIR })).ran).toEqual([]);

      await sink.client.query("update earlier_sums.migrations set checksum = $1 where name = '009_lz4_documents.sql'", ["0".repeat(64)]);
      await expect(migrationStatus(sink.client, { schema: "earlier_sums", dir: MIGRATIONS_DIR })).rejects.toThrow(MigrationError);
      await expect(migrationStatus(sink.client, { schema: "earlier_sums", dir: MIGRATIONS_DIR })).rejects.toThrow(
        /009_lz4_documents\.sql was changed after it was applied/,
      );
    });
  });
});
