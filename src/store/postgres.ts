/**
 * The Store on PostgreSQL (selected by DATABASE_URL), through Kysely's PostgreSQL dialect on a
 * pg Pool. Several Gatehouse instances may share one database: single-use records are consumed
 * by single statements (kysely-store.ts) and migrations run under Kysely's advisory lock.
 */

import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Store } from "../domain/store.ts";
import { postgresUniqueViolation } from "./constraints.ts";
import { kyselyStore } from "./kysely-store.ts";
import { migrateToLatest } from "./migrations/index.ts";
import { POSTGRES_TYPES } from "./migrations/types.ts";
import { type Database, postgresCodec } from "./schema.ts";

export interface PostgresStoreOptions {
  /** The schema holding Gatehouse's tables (created if missing); default "public". */
  readonly schema?: string;
}

/** A plain identifier: it goes into a connection startup option, so nothing to quote or escape. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<Store> {
  const schema = options.schema ?? "public";
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(
      `PostgreSQL schema name ${JSON.stringify(schema)} must be lower-case letters, digits and _`,
    );
  }
  const pool = new pg.Pool({
    connectionString: url,
    // Every pooled connection starts with this search_path, before any query runs on it.
    options: `-c search_path=${schema}`,
  });
  // A pooled idle client that loses its server is discarded by the pool; without a listener the
  // event would crash the process. The next query reconnects or fails where it is awaited.
  pool.on("error", () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    if (schema !== "public") await createSchema(db, schema);
    await migrateWithRetry(db as Kysely<unknown>, schema);
    return kyselyStore(db, {
      kind: "postgres",
      codec: postgresCodec,
      uniqueViolation: postgresUniqueViolation,
    });
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

/**
 * Kysely's migrator looks for its table through introspection queries over every schema of the
 * database. Another tenant of the database dropping its schema or tables during those queries
 * fails them with invalid_schema_name (3F000), undefined_column (42703) or undefined_table
 * (42P01) about THEIR objects. Nothing of ours is wrong: try again, a few times.
 */
const CATALOG_RACE = new Set(["3F000", "42703", "42P01"]);

async function migrateWithRetry(db: Kysely<unknown>, schema: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await migrateToLatest(db, POSTGRES_TYPES, schema);
      return;
    } catch (error) {
      const cause = (error as { cause?: { code?: unknown } }).cause;
      const beforeAny = String((error as Error).message).includes("(before any)");
      if (!beforeAny || !CATALOG_RACE.has(String(cause?.code)) || attempt >= 5) throw error;
    }
  }
}

async function createSchema(db: Kysely<Database>, schema: string): Promise<void> {
  try {
    await db.schema.createSchema(schema).ifNotExists().execute();
  } catch (error) {
    // Two instances starting together: IF NOT EXISTS can still lose the race on PostgreSQL's
    // catalogue (unique_violation); the schema exists either way.
    if ((error as { code?: unknown }).code !== "23505") throw error;
  }
}
