/**
 * The embedded default: the Store on node:sqlite (Node's built-in SQLite), through Kysely's
 * SQLite dialect. Kysely speaks better-sqlite3's interface; the adapter below maps it onto
 * DatabaseSync and StatementSync.
 */

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { Worker } from "node:worker_threads";
import { Kysely, type SqliteDatabase, SqliteDialect, type SqliteStatement } from "kysely";
import type { Store } from "../domain/store.ts";
import { sqliteUniqueViolation } from "./constraints.ts";
import { kyselyStore } from "./kysely-store.ts";
import { migrateToLatest } from "./migrations/index.ts";
import { SQLITE_TYPES } from "./migrations/types.ts";
import { type Database, sqliteCodec } from "./schema.ts";

/** How long a writer waits for another process's lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;
/** How often the checkpointer thread copies the WAL back into the database. */
const CHECKPOINT_INTERVAL_MS = 200;
/**
 * WAL pages after which a commit checkpoints by itself, inside the request (SQLite's default is
 * 1000): only a backstop here, should the checkpointer thread fall behind or be gone.
 */
const AUTOCHECKPOINT_PAGES = 20_000;

/** `path` is a file (its directory is created if missing) or ":memory:". */
export async function openSqliteStore(path: string): Promise<Store> {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const database = new DatabaseSync(path);
  try {
    // Pragmas are per connection, not SQL data: set once, before Kysely takes over.
    // WAL lets readers run beside the writer (and other processes on the same file).
    database.exec("PRAGMA journal_mode = WAL");
    database.exec("PRAGMA foreign_keys = ON");
    database.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // The usual pairing with WAL: commits are not fsynced one by one (the WAL is synced at
    // checkpoints), so a power cut may lose the last commits but never corrupts the file. At
    // several writes per login, an fsync per commit would cap logins at the disk's sync rate.
    database.exec("PRAGMA synchronous = NORMAL");
    // A checkpoint copies the WAL into the database file and fsyncs it: milliseconds during which
    // node:sqlite, being synchronous, would hold the event loop and every request in flight. A
    // thread with its own connection does it instead, beside the writers (WAL allows that).
    let checkpointer: Worker | undefined;
    if (path !== ":memory:") {
      database.exec(`PRAGMA wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
      checkpointer = startCheckpointer(path);
    }
    const db = new Kysely<Database>({
      dialect: new SqliteDialect({ database: nodeSqliteAdapter(database) }),
    });
    await migrateToLatest(db as Kysely<unknown>, SQLITE_TYPES);
    const store = kyselyStore(db, {
      kind: "sqlite",
      codec: sqliteCodec,
      uniqueViolation: sqliteUniqueViolation,
    });
    if (checkpointer === undefined) return store;
    return Object.freeze({
      ...store,
      async close() {
        await checkpointer.terminate();
        await store.close();
      },
    });
  } catch (error) {
    if (database.isOpen) database.close();
    throw error;
  }
}

/**
 * A thread that runs PASSIVE checkpoints on its own connection every CHECKPOINT_INTERVAL_MS
 * (PASSIVE never waits for, nor blocks, readers and writers). It does not keep the process alive.
 */
function startCheckpointer(path: string): Worker {
  const source = `
    const { DatabaseSync } = require("node:sqlite");
    const { workerData } = require("node:worker_threads");
    const db = new DatabaseSync(workerData.path);
    db.exec("PRAGMA busy_timeout = " + workerData.busyTimeoutMs);
    setInterval(() => {
      try { db.exec("PRAGMA wal_checkpoint(PASSIVE)"); } catch {}
    }, workerData.intervalMs);
  `;
  const worker = new Worker(source, {
    eval: true,
    workerData: { path, busyTimeoutMs: BUSY_TIMEOUT_MS, intervalMs: CHECKPOINT_INTERVAL_MS },
  });
  // A failed checkpointer leaves the backstop (wal_autocheckpoint) in charge; nothing to crash.
  worker.on("error", () => {});
  worker.unref();
  return worker;
}

/**
 * Prepared statements kept per SQL text: Kysely prepares every query it runs, and the store runs
 * a few dozen distinct ones. Bounded, so a caller building unusual queries cannot grow it.
 */
const STATEMENT_CACHE_SIZE = 200;

/** Kysely's SqliteDatabase over node:sqlite. */
export function nodeSqliteAdapter(database: DatabaseSync): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => {
      cache.clear();
      database.close();
    },
    prepare: (sql: string) => {
      let statement = cache.get(sql);
      if (statement === undefined) {
        statement = statementAdapter(database.prepare(sql));
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

function statementAdapter(statement: StatementSync): SqliteStatement {
  const args = (parameters: ReadonlyArray<unknown>) => parameters as SQLInputValue[];
  return {
    // A statement that yields columns (SELECT, or anything with RETURNING) is read with all().
    reader: statement.columns().length > 0,
    all: (parameters) => statement.all(...args(parameters)),
    run: (parameters) => statement.run(...args(parameters)),
    iterate: (parameters) => statement.iterate(...args(parameters)),
  };
}
