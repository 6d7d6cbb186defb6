/**
 * Versioned migrations, in order, from a static list (no folder scan: what runs is what this file
 * names). Both backends share them; the column types that differ come in as an argument.
 * Names sort in order; never rename or edit one that has shipped, add the next instead.
 */

import { type Kysely, type Migration, type MigrationProvider, Migrator } from "kysely";
import { initial } from "./0001-initial.ts";
import { oidc } from "./0002-oidc.ts";
import type { ColumnTypes } from "./types.ts";

export function migrations(types: ColumnTypes): Record<string, Migration> {
  return {
    "0001-initial": initial(types),
    "0002-oidc": oidc(types),
  };
}

/** Brings the database to the latest version; throws with the failing migration's name. */
export async function migrateToLatest(
  db: Kysely<unknown>,
  types: ColumnTypes,
  migrationTableSchema?: string,
): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(types) };
  const migrator = new Migrator({
    db,
    provider,
    ...(migrationTableSchema === undefined ? {} : { migrationTableSchema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "(before any)";
    throw new Error(`database migration ${failed} failed: ${String(error)}`, { cause: error });
  }
}
