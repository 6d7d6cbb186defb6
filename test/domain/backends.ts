// The domain tests that touch storage run on both backends: a fresh SQLite file, and a fresh
// PostgreSQL schema (dropped on close) at TEST_DATABASE_URL. As in test/store/postgres.test.ts,
// an unreachable PostgreSQL FAILS (a silent skip would hide a broken store) unless
// GATEHOUSE_SKIP_POSTGRES=1 says to skip it on purpose.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, it } from "node:test";
import pg from "pg";
import type { Store } from "../../src/domain/store.ts";
import { openPostgresStore } from "../../src/store/postgres.ts";
import { openSqliteStore } from "../../src/store/sqlite.ts";

export interface Backend {
  readonly store: Store;
  /** Every row of a table as stored, read with SQL beside the store (never through it). */
  rows(table: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

const url = process.env["TEST_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const skipPostgres = process.env["GATEHOUSE_SKIP_POSTGRES"] === "1";
/** Table names come from the tests themselves; this keeps them plain identifiers. */
const TABLE = /^[a-z_]+$/;

async function openSqlite(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-domain-"));
  const path = join(dir, "test.db");
  const store = await openSqliteStore(path);
  return {
    store,
    async rows(table) {
      assert.match(table, TABLE);
      const db = new DatabaseSync(path, { readOnly: true });
      try {
        return db.prepare(`select * from ${table}`).all() as Record<string, unknown>[];
      } finally {
        db.close();
      }
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function withClient<T>(
  schema: string | undefined,
  run: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 5000,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

async function openPostgres(): Promise<Backend> {
  const schema = `gatehouse_domain_${randomBytes(6).toString("hex")}`;
  const store = await openPostgresStore(url, { schema });
  return {
    store,
    async rows(table) {
      assert.match(table, TABLE);
      return withClient(schema, async (c) => (await c.query(`select * from ${table}`)).rows);
    },
    async close() {
      await store.close();
      await withClient(undefined, (c) => c.query(`drop schema if exists "${schema}" cascade`));
    },
  };
}

const postgresUnreachable = skipPostgres
  ? undefined
  : await withClient(undefined, (c) => c.query("select 1")).then(
      () => undefined,
      (error: unknown) => String(error),
    );

/** Runs `run` on a fresh store of one backend, closed (and its data removed) afterwards. */
export type WithStore = (run: (b: Backend) => Promise<void>) => Promise<void>;

function withStore(open: () => Promise<Backend>): WithStore {
  return async (run) => {
    const b = await open();
    try {
      await run(b);
    } finally {
      await b.close();
    }
  };
}

/** Declares `suite` once per backend; each test takes a fresh store through `withStore`. */
export function onEachBackend(suite: (withStore: WithStore) => void): void {
  describe("on SQLite", () => suite(withStore(openSqlite)));
  describe("on PostgreSQL", { skip: skipPostgres && "GATEHOUSE_SKIP_POSTGRES=1" }, () => {
    if (postgresUnreachable !== undefined) {
      it("PostgreSQL is reachable", () => {
        assert.fail(
          `PostgreSQL is not reachable (${postgresUnreachable}). Start it (CI does), point ` +
            "TEST_DATABASE_URL at one, or set GATEHOUSE_SKIP_POSTGRES=1 to skip these tests.",
        );
      });
      return;
    }
    suite(withStore(openPostgres));
  });
}
