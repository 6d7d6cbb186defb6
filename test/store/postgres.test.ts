// The storage conformance suite on PostgreSQL: a fresh schema per run, dropped at the end.
// CI starts PostgreSQL, so an unreachable server FAILS this file (a silent skip would hide a
// broken store) unless GATEHOUSE_SKIP_POSTGRES=1 says to skip it on purpose.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import pg from "pg";
import { openPostgresStore } from "../../src/store/postgres.ts";
import { storeConformance } from "./conformance.ts";

const url = process.env["TEST_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
/** The URL without its password, for messages. */
const shownUrl = (() => {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return "(an unparsable TEST_DATABASE_URL)";
  }
})();
const schema = `gatehouse_test_${randomBytes(6).toString("hex")}`;
const skip = process.env["GATEHOUSE_SKIP_POSTGRES"] === "1";

/** One query on a short-lived client: the server's error if it cannot be reached. */
async function withClient<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

const unreachable = skip
  ? undefined
  : await withClient((c) => c.query("select 1")).then(
      () => undefined,
      (error: unknown) => String(error),
    );

describe("PostgreSQL store", { skip: skip && "GATEHOUSE_SKIP_POSTGRES=1" }, () => {
  if (unreachable !== undefined) {
    it("PostgreSQL is reachable", () => {
      assert.fail(
        `PostgreSQL is not reachable at ${shownUrl} (${unreachable}). Start it (CI does), point ` +
          "TEST_DATABASE_URL at one, or set GATEHOUSE_SKIP_POSTGRES=1 to skip these tests.",
      );
    });
    return;
  }

  after(async () => {
    await withClient((c) => c.query(`drop schema if exists "${schema}" cascade`));
  });

  describe("conformance", () => {
    // Each call opens another pool on the same schema: another Gatehouse instance.
    storeConformance(() => openPostgresStore(url, { schema }));
  });

  it("keeps its tables in the schema it was given", async () => {
    const store = await openPostgresStore(url, { schema });
    assert.equal(store.kind, "postgres");
    await store.close();
    const { rows } = await withClient((c) =>
      c.query<{ table_name: string }>(
        "select table_name from information_schema.tables where table_schema = $1 order by 1",
        [schema],
      ),
    );
    assert.deepEqual(
      rows.map((r) => r.table_name),
      [
        "accounts",
        "audit_events",
        "connections",
        "counters",
        "identity_bindings",
        "kysely_migration",
        "kysely_migration_lock",
        "oidc_clients",
        "oidc_keys",
        "oidc_records",
        "pending_requests",
        "replay_cache",
        "sessions",
        "tokens",
        "users",
      ],
    );
  });

  it("refuses a schema name that is not a plain identifier", async () => {
    await assert.rejects(
      openPostgresStore(url, { schema: "x; drop table users" }),
      /schema name .* must be lower-case letters, digits and _/,
    );
  });
});
